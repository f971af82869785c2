/**
 * The Redis of a bench run. By default a private redis-server on a free loopback port (no
 * persistence), so that other processes using the developer's Redis cannot disturb the figures and
 * INFO commandstats counts only the bench's own commands; `--redis=env` uses REDIS_URL (what
 * `pnpm bench` ensured) instead. Ours and every baseline always share the one Redis of the run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasBinary } from '@switchyard/shared';
import { deleteNamespace, startPrivateRedis } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { envVar } from './env.ts';
import { cpuMsOf } from './processes.ts';

export interface BenchRedis {
  url: string;
  /** 'private': started for this run; 'env': REDIS_URL. */
  source: 'private' | 'env';
  /** redis-server's pid when it runs on this machine and said so (INFO server), else null. */
  pid: number | null;
  client: Redis;
  /** Total commands Redis has processed (INFO commandstats), and per command. */
  commandStats(): Promise<CommandStats>;
  cpuMs(): number;
  deleteNamespace(namespace: string): Promise<void>;
  stop(): Promise<void>;
}

export interface CommandStats {
  total: number;
  byCommand: Record<string, number>;
}

export function diffStats(after: CommandStats, before: CommandStats): CommandStats {
  const byCommand: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after.byCommand)) {
    const delta = calls - (before.byCommand[name] ?? 0);
    if (delta > 0) byCommand[name] = delta;
  }
  return { total: after.total - before.total, byCommand };
}

function parseCommandStats(info: string): CommandStats {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (!match) continue;
    const calls = Number(match[2]);
    byCommand[match[1]!] = calls;
    total += calls;
  }
  return { total, byCommand };
}

export async function openBenchRedis(mode: 'private' | 'env'): Promise<BenchRedis> {
  let url: string;
  let stopServer: () => Promise<void> = async () => {};
  let dir: string | undefined;
  if (mode === 'private') {
    if (!hasBinary('redis-server'))
      throw new Error('--redis=private needs redis-server on PATH (apt-get install -y redis-server), or use --redis=env');
    dir = mkdtempSync(join(tmpdir(), 'sy-bench-redis-'));
    const server = await startPrivateRedis({ dataDir: dir, appendonly: false, extraArgs: ['--maxclients', '10000'] });
    url = server.url;
    stopServer = server.stop;
  } else {
    const fromEnv = envVar('REDIS_URL', '');
    if (!fromEnv) throw new Error('--redis=env needs REDIS_URL (run through `pnpm bench`, which ensures one)');
    url = fromEnv;
  }
  const client = new Redis(url, { maxRetriesPerRequest: 3 });
  const serverInfo = String(await client.info('server'));
  const pidMatch = /process_id:(\d+)/.exec(serverInfo);
  // Its pid only when that process on this machine is a redis-server (a server in a container or on
  // another host reports a pid that is not). Not "has used CPU": one started a moment ago has used none.
  const pid = pidMatch && isRedisServer(Number(pidMatch[1])) ? Number(pidMatch[1]) : null;
  return {
    url,
    source: mode,
    pid,
    client,
    commandStats: async () => parseCommandStats(String(await client.info('commandstats'))),
    cpuMs: () => (pid === null ? 0 : cpuMsOf(pid)),
    deleteNamespace: async (namespace) => {
      await deleteNamespace(url, namespace);
    },
    async stop() {
      client.disconnect();
      await stopServer();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function isRedisServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis-server');
  } catch {
    return false;
  }
}
