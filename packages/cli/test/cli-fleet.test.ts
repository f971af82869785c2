/**
 * The CLI against the running system: the real API and a real worker process (the in-process
 * mock/echo model) on a real Redis, the `switchyard` bin as a child process. A 1,000-line batch is
 * stopped with SIGINT, then killed with SIGKILL, then resumed to the end: exactly 1,000 result
 * lines in input order, the queue holds exactly 1,000 jobs and every job ran exactly once. Also:
 * submit --wait, status, watch and providers, with the API key required and never printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { QUEUE_NAME, queuePrefix } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, startFleet } from '../../../test/support/processes.ts';
import { runInProcess } from './support/in-process.ts';

const BIN = resolve(import.meta.dirname, '../bin/switchyard.mjs');
const KEY = 'cli-fleet-test-key-7f3a';
const LINES = 1_000;
const namespace = testNamespace('cli');
const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
let fleet: Fleet;

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function cli(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, SWITCHYARD_URL: fleet.apiUrl, SWITCHYARD_API_KEY: KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { child, stdout: '', stderr: '', exited: Promise.resolve(null) };
  child.stdout?.on('data', (chunk: Buffer) => {
    run.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString();
  });
  run.exited = new Promise((done) => child.once('exit', (code, signal) => done(code ?? (signal ? -1 : null))));
  return run;
}

async function cliDone(args: string[], env: Record<string, string> = {}) {
  const run = cli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

/** Runs the command line in this process against the fleet, with the test's key. */
const inProcess = (args: string[], env: Record<string, string> = {}) =>
  runInProcess(args, { SWITCHYARD_URL: fleet.apiUrl, SWITCHYARD_API_KEY: KEY, ...env });

const lineCount = (path: string) => {
  try {
    return statSync(path).size === 0 ? 0 : readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

beforeAll(async () => {
  fleet = await startFleet({
    namespace,
    workers: 1,
    env: { WORKER_CONCURRENCY: '64', MOCK_PROVIDER: 'true', API_KEYS: KEY, RESULT_MAX_COUNT: '100000', LOG_LEVEL: 'info' },
  });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await deleteNamespace(testRedisUrl(), namespace);
  rmSync(dir, { recursive: true, force: true });
});

describe('switchyard batch against the running system', () => {
  it(`runs ${LINES} lines through SIGINT, SIGKILL and two resumes: ${LINES} results in order, no job twice`, async () => {
    const input = join(dir, 'requests.jsonl');
    const output = join(dir, 'results.jsonl');
    writeFileSync(
      input,
      Array.from({ length: LINES }, (_, i) =>
        JSON.stringify({
          custom_id: `req-${i}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: 'mock/echo', messages: [{ role: 'user', content: `request number ${i}` }], max_tokens: 16 },
        }),
      ).join('\n') + '\n',
    );
    const args = ['batch', input, '--out', output, '--concurrency', '64', '--progress-interval', '1'];

    // Run 1: Ctrl-C once some lines are in; it stops cleanly, saying how to resume.
    const t0 = Date.now();
    const phase = (name: string) => console.log(`[cli-fleet] ${name} at ${Date.now() - t0} ms, ${lineCount(output)} lines`);
    const first = cli(args);
    await waitFor(() => lineCount(output) >= 200, 'first lines of run 1', 90_000, 10);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(first.stderr).toContain('Run the same command again to resume');
    phase('run 1 stopped');
    const afterFirst = lineCount(output);
    expect(afterFirst).toBeLessThan(LINES);

    // Run 2: resumes, and is killed outright half-way.
    const second = cli(args);
    await waitFor(() => lineCount(output) >= LINES / 2, 'half of the lines', 90_000, 10);
    second.child.kill('SIGKILL');
    await second.exited;
    expect(second.stderr).toMatch(new RegExp(`resuming: ${afterFirst} of ${LINES} lines already done`));
    phase('run 2 killed');
    const afterSecond = lineCount(output);
    expect(afterSecond).toBeGreaterThanOrEqual(LINES / 2);
    expect(afterSecond).toBeLessThan(LINES);

    // Run 3: resumes to the end.
    const third = await cliDone([...args, '--json']);
    phase('run 3 done');
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain('resuming:');
    expect(third.stderr).toMatch(/progress: \d+\/1000 +\d+\.\d% +\d+\.\d\/s +ETA /);
    const summary = JSON.parse(third.stdout);
    expect(summary).toMatchObject({ lines: LINES, succeeded: LINES, failed: 0, runs: 3 });

    const results = readFileSync(output, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(results).toHaveLength(LINES);
    results.forEach((line, i) => {
      expect(line.custom_id).toBe(`req-${i}`);
      expect(line.error).toBeNull();
      expect(line.response.status_code).toBe(200);
      expect(line.response.body.object).toBe('chat.completion');
      expect(line.response.body.choices[0].message.content).toContain(`request number ${i}`);
    });
    const jobIds = new Set(results.map((l) => l.response.request_id));
    expect(jobIds.size).toBe(LINES);

    // No job submitted twice: the queue holds exactly one job per line...
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection, prefix: queuePrefix(namespace), skipVersionCheck: true });
    try {
      const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized');
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(LINES);
      expect(counts.completed).toBe(LINES);
    } finally {
      await queue.close();
      connection.disconnect();
    }
    // ...and each ran exactly once.
    const completed = new Map<string, number>();
    for (const worker of fleet.workers) {
      for (const l of worker.lines) {
        if (!l.includes('"job completed"')) continue;
        const jobId = (JSON.parse(l) as { jobId: string }).jobId;
        completed.set(jobId, (completed.get(jobId) ?? 0) + 1);
      }
    }
    expect(completed.size).toBe(LINES);
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
    expect([...jobIds].every((id) => completed.has(id))).toBe(true);

    const state = JSON.parse(readFileSync(`${output}.state.json`, 'utf8'));
    expect(state).toMatchObject({ done: true, written: LINES, total: LINES, runs: 3 });

    // Run 4 (in this process): nothing left to do, nothing submitted.
    const fourth = await inProcess([...args, '--json']);
    expect(fourth.code).toBe(0);
    expect(JSON.parse(fourth.stdout)).toMatchObject({ jobs_submitted: 0, jobs_reused: 0 });
    for (const run of [first, second, third, fourth]) expect(run.stdout + run.stderr).not.toContain(KEY);
    // About 25 s on an idle 2-CPU machine; the margin is for a CI box shared with other suites.
  }, 180_000);

  it('refuses to resume into an output that belongs to another input', async () => {
    const other = join(dir, 'other.jsonl');
    writeFileSync(
      other,
      `${JSON.stringify({ custom_id: 'x', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x' }] } })}\n`,
    );
    const res = await inProcess(['batch', other, '--out', join(dir, 'results.jsonl')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('belongs to a batch of different input');
  });
});

describe('switchyard submit, status, watch, providers', () => {
  it('the bin answers --help from the repo root', async () => {
    const help = await cliDone(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('batch <in.jsonl> --out <out>');
  });

  it('submit --wait prints the answer; status and watch follow a job by id', async () => {
    const waited = await inProcess(['submit', '-m', 'mock/echo', '--wait', 'hello from the cli']);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toContain('hello from the cli');

    const submitted = await inProcess(['submit', '-m', 'mock/echo', '--idempotency-key', 'cli-test-1', 'watch this one']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    const again = await inProcess(['submit', '-m', 'mock/echo', '--idempotency-key', 'cli-test-1', '--json', 'watch this one']);
    expect(JSON.parse(again.stdout)).toMatchObject({ id, replayed: true });

    const watched = await inProcess(['watch', id]);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain('watch this one');
    const polled = await inProcess(['watch', id, '--poll', '--json']);
    expect(JSON.parse(polled.stdout)).toMatchObject({ id, status: 'completed' });

    const status = await inProcess(['status', id, '--json']);
    expect(JSON.parse(status.stdout).result.content).toContain('watch this one');
    const missing = await inProcess(['status', 'no-such-job']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404');
  });

  it('watch follows a running, streaming job over its event stream, tokens as they come', async () => {
    // The mock waits 1.5 s before answering, so watch meets the job before it is final.
    const file = join(dir, 'job.json');
    writeFileSync(
      file,
      JSON.stringify({ model: 'mock/echo', stream: true, messages: [{ role: 'user', content: '[[mock:latency=1500]] follow me live' }] }),
    );
    const submitted = await inProcess(['submit', '--file', file, '--json']);
    const { id } = JSON.parse(submitted.stdout);
    const watched = await inProcess(['watch', id]);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain('follow me live');
    expect(watched.stderr).toMatch(/\] (queued|active)\n/);
    expect(watched.stderr).toContain(`${id}  completed`);
  });

  it('providers shows the mock provider; a wrong key is a clear 401, never echoed', async () => {
    const providers = await inProcess(['providers']);
    expect(providers.code, providers.stderr).toBe(0);
    expect(providers.stdout).toMatch(/^PROVIDER +STATE +CIRCUIT/m);
    expect(providers.stdout).toMatch(/^mock +\S+ +closed/m);
    const denied = await inProcess(['providers'], { SWITCHYARD_API_KEY: 'wrong-key-123456' });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('401');
    expect(denied.stderr).not.toContain('wrong-key-123456');
  });
});
