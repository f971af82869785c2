/**
 * Crashes: 5,000 jobs go through the API while worker processes are SIGKILLed and restarted every
 * few seconds. Every job accepted with a 202 must reach a final state (none lost); jobs run more
 * than once (at-least-once delivery: BullMQ's stalled-job check hands a dead worker's jobs to
 * another) are counted from the provider's side, the mock server recording every call per job.
 */

import { type MockServer, startMockServer } from '@switchyard/providers/mock-server';
import { QUEUE_NAME, queuePrefix } from '@switchyard/shared';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster } from './support/cluster.ts';
import { call, mapLimit, percentile, round, sizeFromEnv, sleep } from './support/http.ts';
import { scanRedisForSecrets } from './support/redis.ts';
import { ChaosReport, progress } from './support/report.ts';
import { PROVIDER_KEYS, scanner } from './support/secrets.ts';

const JOBS = sizeFromEnv('CHAOS_CRASH_JOBS', 5_000);
const WORKERS = 3;
const CONCURRENCY = 32;
const BATCH = 100;
/** Kills continue while jobs remain, at most this many. */
const MAX_KILLS = 12;
const RUN = Date.now().toString(36);

const report = new ChaosReport('crashes', 'Crashes: workers SIGKILLed under load', 1, 2);
let mock: MockServer;
let cluster: ChaosCluster;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  mock = await startMockServer({ record: true, recordLimit: JOBS * 4 });
  // Calls take 100-600 ms, so every kill catches dozens of jobs in flight.
  mock.setFaults([{ provider: 'openai', endpoint: 'chat', fault: 'latency=100-600' }]);
  cluster = await ChaosCluster.start({
    name: 'crashes',
    workers: WORKERS,
    env: {
      OPENAI_API_KEY: PROVIDER_KEYS.OPENAI_API_KEY,
      OPENAI_BASE_URL: mock.baseUrls.openai,
      DEFAULT_MODEL: 'openai/gpt-4o-mini',
      WORKER_CONCURRENCY: String(CONCURRENCY),
      RATE_LIMIT_RPM: '0',
    },
  });
  progress(`cluster up: api + ${WORKERS} workers`);
  redis = cluster.client();
  queue = new Queue(QUEUE_NAME, { connection: redis, prefix: queuePrefix(cluster.namespace), skipVersionCheck: true });
});

afterAll(async () => {
  try {
    await queue?.close().catch(() => {});
    redis?.disconnect();
    await cluster?.stop();
    await mock?.close();
  } finally {
    // Whatever happened above, this file's section of bench/results/chaos.md is written.
    report.write();
  }
});

const marker = (i: number) => `crash-${RUN}-${i}`;

describe('crashes', () => {
  it(`${JOBS} jobs, workers SIGKILLed every few seconds: every accepted job reaches a final state`, async () => {
    const started = Date.now();
    const accepted = new Map<string, number>();
    let rejected = 0;
    const rejections: string[] = [];
    const refusedIndexes: number[] = [];

    // Submission: batches of BATCH over the batch route, two at a time, spread over the first seconds.
    const batches = Array.from({ length: Math.ceil(JOBS / BATCH) }, (_, b) =>
      Array.from({ length: Math.min(BATCH, JOBS - b * BATCH) }, (_, k) => b * BATCH + k),
    );
    const submitting = mapLimit(batches, 2, async (indexes) => {
      const answer = await call(cluster.apiUrl, '/v1/jobs/batch', {
        body: { jobs: indexes.map((i) => ({ messages: [{ role: 'user', content: `${marker(i)} say something` }] })) },
      });
      if (answer.status !== 202) {
        rejected += indexes.length;
        refusedIndexes.push(...indexes);
        rejections.push(`${answer.status} after ${round(answer.ms)} ms: ${answer.error ?? answer.text.slice(0, 200)}`);
        return;
      }
      const ids = answer.json<{ ids: string[] }>().ids;
      for (const [k, id] of ids.entries()) accepted.set(id, indexes[k] as number);
      await sleep(150);
    });

    const remaining = async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      return Object.values(c).reduce((a, b) => a + b, 0);
    };

    // Chaos: every 1.5-3.5 s SIGKILL a random worker (one that is up, never the last one up) and
    // start its replacement at once; start-ups run in the background, kills do not wait for them.
    let kills = 0;
    let lastKillAt = 0;
    let submitted = false;
    void submitting.then(() => {
      submitted = true;
    });
    const replacements = new Set<Promise<unknown>>();
    for (let round = 0; kills < MAX_KILLS && round < MAX_KILLS * 10; round++) {
      await sleep(1500 + Math.random() * 2000);
      if (submitted && (await remaining()) === 0) break;
      const up = cluster.readyWorkers();
      if (up.length < 2) continue;
      const victim = up[Math.floor(Math.random() * up.length)] as (typeof up)[number];
      await cluster.killWorker(victim, 'SIGKILL');
      kills += 1;
      lastKillAt = Date.now();
      progress(`SIGKILL #${kills} (${victim.name}); ${accepted.size} accepted, ${await remaining()} unfinished`);
      const replacement = cluster.startWorker();
      replacements.add(replacement);
      void replacement.finally(() => replacements.delete(replacement)).catch(() => {});
    }
    await Promise.all(replacements);
    await submitting;
    const submitMs = Date.now() - started;

    // Every accepted job leaves the queue: completed or failed (stalled jobs come back after the lock expires).
    const deadline = Date.now() + 180_000;
    while ((await remaining()) > 0 && Date.now() < deadline) await sleep(500);
    const drainedAt = Date.now();
    progress(`queue drained ${round((drainedAt - lastKillAt) / 1000, 1)} s after the last kill`);

    // The client's view of every accepted job.
    const ids = [...accepted.keys()];
    const views = await mapLimit(ids, 32, async (id) => {
      const answer = await call(cluster.apiUrl, `/v1/jobs/${id}`);
      return { id, status: answer.status, view: answer.status === 200 ? answer.json() : null };
    });
    const byStatus: Record<string, number> = {};
    const failedClasses: Record<string, number> = {};
    /** Jobs whose worker died under them more often than the worker's maxStalledCount allows: failed on purpose. */
    let stalledOut = 0;
    const failedOtherwise: string[] = [];
    const lost: string[] = [];
    let wrongContent = 0;
    for (const { id, status, view } of views) {
      const state = view?.status ?? `http ${status}`;
      byStatus[state] = (byStatus[state] ?? 0) + 1;
      if (!view || !['completed', 'failed', 'cancelled'].includes(view.status)) lost.push(id);
      if (view?.status === 'failed') {
        failedClasses[view.error?.class] = (failedClasses[view.error?.class] ?? 0) + 1;
        const message = String(view.error?.message ?? '');
        if (/stalled/i.test(message)) stalledOut += 1;
        else failedOtherwise.push(`${id}: ${view.error?.class}: ${message.slice(0, 160)}`);
      }
      if (view?.status === 'completed' && !String(view.result?.content).includes(marker(accepted.get(id) as number))) wrongContent += 1;
    }

    // Executions, from the provider's side: calls per job marker.
    const callsPerJob = new Map<number, number>();
    for (const request of mock.requests()) {
      if (request.endpoint !== 'chat') continue;
      const messages = (request.body as { messages?: Array<{ content?: string }> }).messages ?? [];
      const match = /crash-[a-z0-9]+-(\d+)/.exec(String(messages.at(-1)?.content ?? ''));
      if (match) callsPerJob.set(Number(match[1]), (callsPerJob.get(Number(match[1])) ?? 0) + 1);
    }
    const calls = [...callsPerJob.values()];
    const duplicated = calls.filter((n) => n > 1).length;
    const extraCalls = calls.reduce((a, n) => a + Math.max(0, n - 1), 0);
    // Completions, from the workers' side: "job completed" log lines per job id (killed workers included).
    const completions = new Map<string, number>();
    for (const proc of cluster.history) {
      for (const line of proc.lines) {
        if (!line.includes('"job completed"')) continue;
        const jobId = /"jobId":"([^"]+)"/.exec(line)?.[1];
        if (jobId) completions.set(jobId, (completions.get(jobId) ?? 0) + 1);
      }
    }
    const completedTwice = [...completions.values()].filter((n) => n > 1).length;
    const stats = mock.stats().byEndpoint['openai:chat'];

    report.summary =
      `${accepted.size} jobs, ${kills} SIGKILLs: ${byStatus.completed ?? 0} completed, ${byStatus.failed ?? 0} failed, ` +
      `lost ${lost.length}; ${duplicated} jobs ran twice or more (${extraCalls} extra provider calls)`;
    report.headline(
      'crash jobs accepted / completed / failed as stalled 3 times / lost',
      `${accepted.size} / ${byStatus.completed ?? 0} / ${stalledOut} / ${lost.length}`,
    );
    report.headline('worker SIGKILLs (each restarted)', kills);
    report.headline('duplicate executions (at-least-once)', `${duplicated} jobs ran twice or more (${extraCalls} extra provider calls)`);
    report.set('jobs accepted (202)', accepted.size);
    report.set('jobs refused at submission (non-202)', rejected);
    const refusedButRun = refusedIndexes.filter((i) => callsPerJob.has(i)).length;
    report.set('  of which the provider was called for anyway', refusedButRun);
    if (rejections.length > 0) {
      report.note(
        `BUG: ${rejections.length} batches were refused (${rejections.slice(0, 3).join(' | ')}) yet ${refusedButRun} of their jobs ran: ` +
          'the client was told to retry work that had been enqueued.',
      );
    }
    report.set('worker processes (concurrency each)', `${WORKERS} at a time (${CONCURRENCY})`);
    report.set('SIGKILLs (each followed by a fresh worker)', kills);
    report.set('provider latency injected', '100-600 ms per call (mock server rule)');
    report.set('completed', byStatus.completed ?? 0);
    report.set('failed (by class)', JSON.stringify(failedClasses));
    report.set('  of which failed as stalled too often (their worker died under them 3 times)', stalledOut);
    report.set('lost (accepted, not final)', lost.length);
    report.set('jobs executed more than once (provider saw >1 call)', duplicated);
    report.set('extra provider calls from re-runs', extraCalls);
    report.set('accepted jobs never seen by the provider', [...accepted.values()].filter((i) => !callsPerJob.has(i)).length);
    report.set('jobs completed twice (two "job completed" lines)', completedTwice);
    report.set('provider calls in all (mock server)', stats?.received ?? 0);
    report.set('calls cut by a kill (mock: abandoned)', stats?.abandoned ?? 0);
    report.set('submission time', `${round(submitMs / 1000, 1)} s`);
    report.set(
      'drain after the last kill',
      `${round((drainedAt - lastKillAt) / 1000, 1)} s (a dead worker's jobs wait for its lock to lapse, then a stalled check)`,
    );
    report.set('throughput overall', `${round(accepted.size / ((drainedAt - started) / 1000))} jobs/s`);
    report.set('calls per job p50 / max', `${percentile(calls, 50)} / ${Math.max(0, ...calls)}`);

    expect(accepted.size + rejected).toBe(JOBS);
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(lost, `not final: ${lost.slice(0, 5).join(', ')}`).toHaveLength(0);
    expect(wrongContent).toBe(0);
    // At-least-once up to the worker's maxStalledCount: a job whose worker dies under it once more than that is failed
    // as stalled (a poison-pill guard), visibly; any other failure would be the system's.
    expect(failedOtherwise.slice(0, 5)).toEqual([]);
    expect((byStatus.completed ?? 0) + stalledOut).toBe(accepted.size);
    report.passed();
  });

  it('leaks no key in any log line, response or Redis value', async () => {
    report.set('Redis keys scanned for secrets', await scanRedisForSecrets(redis));
    await cluster.stop();
    report.set('log lines scanned', scanner.totals.logLines);
    expect(scanner.leaks).toEqual([]);
    report.passed();
  });
});
