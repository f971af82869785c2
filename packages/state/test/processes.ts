/**
 * A pool of real, separate Node processes (test/fixtures/fleet-member.ts) on the same Redis,
 * started once per test file because process start-up, not Redis, is what costs time here. A
 * test hands each member a command for its own namespace; members meet at a Redis barrier and
 * are released at the same moment, so they really race.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import type { Redis } from 'ioredis';
import type { Command } from './fixtures/commands.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MEMBER = fileURLToPath(new URL('./fixtures/fleet-member.ts', import.meta.url));

export interface Member {
  index: number;
  pid: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

export class FleetPool {
  private constructor(
    private readonly redis: Redis,
    readonly namespace: string,
    readonly members: Member[],
  ) {}

  private key(name: string): string {
    return `${this.namespace}:{pool}:${name}`;
  }

  static async start(redis: Redis, size: number): Promise<FleetPool> {
    const namespace = testNamespace('pool');
    const members: Member[] = [];
    for (let index = 0; index < size; index++) {
      // node --import tsx rather than the tsx CLI: the CLI runs the script in a second process,
      // so its pid would not be the member's and a SIGKILL would orphan the real one.
      const child = spawn(process.execPath, ['--import', 'tsx', MEMBER], {
        cwd: REPO_ROOT,
        env: { ...process.env, REDIS_URL: testRedisUrl(), POOL_NAMESPACE: namespace, MEMBER_INDEX: String(index) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      members.push({ index, pid: child.pid ?? -1, child, exited, stderr: () => stderr });
    }
    const pool = new FleetPool(redis, namespace, members);
    try {
      await waitFor(async () => (await redis.llen(pool.key('members'))) === size, `${size} fleet members to start`, 45_000, 50);
    } catch (err) {
      await pool.stop();
      throw new Error(`${(err as Error).message}\n${members.map((m) => m.stderr()).join('\n')}`);
    }
    return pool;
  }

  alive(): Member[] {
    return this.members.filter((m) => m.child.exitCode === null && m.child.signalCode === null);
  }

  /** Gives each of the first `count` live members its command; returns a way to collect results. */
  async dispatch(count: number, command: (member: Member) => Command): Promise<Dispatched> {
    const members = this.alive().slice(0, count);
    if (members.length < count) throw new Error(`only ${members.length} live fleet members, ${count} wanted`);
    const jobs = members.map((member) => ({ member, id: randomUUID() }));
    for (const { member, id } of jobs) {
      await this.redis.rpush(this.key(`cmd:${member.index}`), JSON.stringify({ ...command(member), id }));
    }
    const resultOf = async (member: Member, id: string): Promise<Record<string, unknown>> => {
      const raw = await waitFor(
        async () => {
          if (member.child.exitCode !== null || member.child.signalCode !== null) throw new Error(`member ${member.index} exited`);
          return this.redis.lpop(this.key(`result:${id}`));
        },
        `result of member ${member.index}`,
        30_000,
        10,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${member.stderr()}`);
      });
      const result = JSON.parse(raw) as Record<string, unknown>;
      if (result.error) throw new Error(`member ${member.index} failed: ${String(result.error)}`);
      return result;
    };
    return {
      members,
      results: (except: Member[] = []) => Promise.all(jobs.filter((j) => !except.includes(j.member)).map((j) => resultOf(j.member, j.id))),
    };
  }

  /** Waits until `count` members wait at the barrier of `namespace`, then lets them all go at once. */
  async release(namespace: string, count: number): Promise<void> {
    const ready = `${namespace}:{test}:start:ready`;
    await waitFor(async () => Number(await this.redis.get(ready)) === count, `${count} members at the barrier`, 20_000, 10);
    await this.redis.rpush(`${namespace}:{test}:start:go`, ...Array.from({ length: count }, (_, i) => String(i)));
  }

  async stop(): Promise<void> {
    for (const m of this.alive()) await this.redis.rpush(this.key(`cmd:${m.index}`), JSON.stringify({ kind: 'exit', id: 'exit' }));
    const deadline = setTimeout(() => {
      for (const m of this.alive()) m.child.kill('SIGKILL');
    }, 3_000);
    await Promise.all(this.members.map((m) => m.exited));
    clearTimeout(deadline);
    await deleteNamespace(testRedisUrl(), this.namespace);
  }
}

export interface Dispatched {
  members: Member[];
  /** Results in member order, skipping `except` (e.g. a member the test killed). */
  results(except?: Member[]): Promise<Array<Record<string, unknown>>>;
}
