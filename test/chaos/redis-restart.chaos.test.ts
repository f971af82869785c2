/**
 * Redis restart mid-load: clients flood the API (submit, read, long-poll) while the private
 * redis-server is killed (SIGKILL, a crash; appendfsync always, so every write Redis answered is on
 * disk) and started again on the same port with the same appendonly directory. During the outage
 * every request must answer fast (503 with retry-after, never a hang) and the API's memory must stay
 * bounded; afterwards the same API and worker processes must reconnect by themselves and every job
 * accepted with a 202 must complete.
 */
import { QUEUE_NAME, queuePrefix } from '@switchyard/shared';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster } from './support/cluster.ts';
import { type Answer, call, mapLimit, mb, percentile, round, sleep } from './support/http.ts';
import { scanRedisForSecrets } from './support/redis.ts';
import { ChaosReport, progress } from './support/report.ts';
import { RunQueueSampler } from './support/sched.ts';
import { scanner } from './support/secrets.ts';

const CLIENTS = 16;
const BEFORE_MS = 4_000;
const OUTAGE_MS = 6_000;
const AFTER_MS = 4_000;
/** An answer during the outage must come within this (the contract: fast 503s, never a hang). */
const FAST_MS = 1_000;

const report = new ChaosReport('redis-restart', 'Redis crash and restart mid-load', 2, 3);
let cluster: ChaosCluster;
let redis: Redis | undefined;

beforeAll(async () => {
  cluster = await ChaosCluster.start({
    name: 'redisrestart',
    workers: 2,
    env: { MOCK_PROVIDER: 'true', WORKER_CONCURRENCY: '32', RATE_LIMIT_RPM: '0' },
    redisArgs: ['--appendfsync', 'always'],
    // The API answers SIGUSR2 with a full GC and its live heap (support/gc-probe.ts).
    apiEnv: { CHAOS_GC_PROBE: '1' },
  });
  progress('cluster up: api + 2 workers');
});

afterAll(async () => {
  try {
    redis?.disconnect();
    // A check that failed mid-outage left Redis down: bring it back so everything can close cleanly.
    if (cluster && !cluster.isStopped && !cluster.redisRunning()) await cluster.restartRedis().catch(() => {});
    await cluster?.stop();
  } finally {
    // Whatever happened above, this file's section of bench/results/chaos.md is written.
    report.write();
  }
});

type Phase = 'before' | 'outage' | 'restarting' | 'after';

interface Sample {
  kind: 'submit' | 'read' | 'long-poll' | 'healthz';
  phase: Phase;
  /** ms since the load started */
  at: number;
  status: number;
  ms: number;
  error?: string;
  retryAfter?: string;
  type?: string;
}

describe('redis restart', () => {
  it('fast 503s during the outage, bounded API memory, reconnection by itself, every 202 job completes', async () => {
    const api = cluster.api!;
    const workerPids = cluster.workers.map((w) => w.pid);
    const samples: Sample[] = [];
    const accepted: Array<{ id: string; phase: Phase }> = [];
    let phase: Phase = 'before';
    let stop = false;
    const t0 = performance.now();
    // Run-queue wait of the API's main thread: on a machine shared with other work, time it could not run at all.
    const sched = new RunQueueSampler(() => [api.pid]);
    sched.start();
    const epochOf = (at: number) => startedEpoch + at;
    const startedEpoch = Date.now();
    const record = (kind: Sample['kind'], a: Answer, at: number, startPhase: Phase) => {
      const sample: Sample = { kind, phase: startPhase, at, status: a.status, ms: a.ms };
      if (a.error) sample.error = a.error;
      if (a.headers['retry-after']) sample.retryAfter = a.headers['retry-after'];
      if (a.status >= 400) sample.type = safeType(a);
      samples.push(sample);
    };

    let n = 0;
    const client = async (c: number) => {
      while (!stop) {
        n += 1;
        const at = performance.now() - t0;
        const p = phase;
        const pick = n % 10;
        if (pick < 6 || accepted.length === 0) {
          const a = await call(cluster.apiUrl, '/v1/jobs', {
            body: { model: 'mock/echo', messages: [{ role: 'user', content: `[[mock:latency=20-200]] job ${c}-${n}` }] },
            timeoutMs: 10_000,
          });
          record('submit', a, at, p);
          if (a.status === 202) accepted.push({ id: a.json().id, phase: p });
        } else if (pick < 9) {
          const id = accepted[Math.floor(Math.random() * accepted.length)]!.id;
          record('read', await call(cluster.apiUrl, `/v1/jobs/${id}`, { timeoutMs: 10_000 }), at, p);
        } else {
          const id = accepted[Math.floor(Math.random() * accepted.length)]!.id;
          record('long-poll', await call(cluster.apiUrl, `/v1/jobs/${id}?wait_ms=500`, { timeoutMs: 10_000 }), at, p);
        }
        // During the outage 503s come back in about a millisecond: a short pause keeps the flood to a few thousand per second.
        if (p === 'outage') await sleep(2);
      }
    };
    const health = async () => {
      while (!stop) {
        const at = performance.now() - t0;
        const p = phase;
        record('healthz', await call(cluster.apiUrl, '/healthz', { auth: false, timeoutMs: 10_000 }), at, p);
        await sleep(50);
      }
    };
    const rss: Array<{ phase: Phase; bytes: number }> = [];
    const sampler = setInterval(() => {
      const bytes = api.rssBytes();
      if (bytes) rss.push({ phase, bytes });
    }, 200);
    const load = Promise.all([...Array.from({ length: CLIENTS }, (_, c) => client(c)), health()]);

    await sleep(BEFORE_MS);
    const before = accepted.length;
    const heapBefore = await api.liveHeap();
    progress(`${before} jobs accepted; killing redis-server (SIGKILL)`);
    await cluster.crashRedis();
    phase = 'outage';
    const outageStarted = performance.now() - t0;
    await sleep(OUTAGE_MS - 1000);
    // The flood has run for most of the outage: what the API still holds after a full GC.
    const heapOutage = await api.liveHeap();
    await sleep(1000);
    progress('restarting redis-server on the same port and data directory');
    // From here Redis may answer again at any moment: requests started now belong to no phase under test.
    phase = 'restarting';
    const restartAt = performance.now();
    await cluster.restartRedis();
    phase = 'after';
    const restarted = performance.now() - t0;
    const ready = await waitUntil(
      async () => (await call(cluster.apiUrl, '/readyz', { auth: false, timeoutMs: 2000 })).status === 200,
      30_000,
    );
    const readyMs = performance.now() - restartAt;
    const firstAfter = await waitUntil(() => accepted.some((a) => a.phase === 'after'), 30_000);
    const firstAcceptMs = performance.now() - restartAt;
    await sleep(AFTER_MS);
    stop = true;
    await load;
    clearInterval(sampler);
    progress(`load stopped: ${samples.length} requests, ${accepted.length} jobs accepted`);

    // Every accepted job completes, on the same API and worker processes.
    redis = cluster.client();
    const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: queuePrefix(cluster.namespace), skipVersionCheck: true });
    const drainStarted = Date.now();
    const unfinished = async () =>
      Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')).reduce((a, b) => a + b, 0);
    await waitUntil(async () => (await unfinished()) === 0, 120_000);
    const drainMs = Date.now() - drainStarted;
    await queue.close();
    const views = await mapLimit(accepted, 32, async ({ id, phase: p }) => {
      const a = await call(cluster.apiUrl, `/v1/jobs/${id}`);
      return { id, phase: p, status: a.status === 200 ? (a.json().status as string) : `http ${a.status}` };
    });
    const notCompleted = views.filter((v) => v.status !== 'completed');

    // Requests that started after the kill and ended before the restart began: Redis was down for all of each one.
    const restartBegan = restartAt - t0;
    const outage = samples.filter((s) => s.phase === 'outage' && s.at + s.ms < restartBegan);
    const outageApi = outage.filter((s) => s.kind !== 'healthz');
    const outageHealth = outage.filter((s) => s.kind === 'healthz');
    const statuses = countBy(outageApi, (s) => String(s.status));
    sched.stop();
    const withheld = (s: Sample) => sched.waitMs(api.pid, epochOf(s.at), epochOf(s.at + s.ms));
    const overFast = outageApi.filter((s) => s.ms > FAST_MS);
    // Slower than FAST_MS even after taking off the time the machine gave the API no CPU at all.
    const slow = overFast.filter((s) => s.ms - withheld(s) > FAST_MS);
    const noAnswer = samples.filter((s) => s.status === 0);
    const fiveHundreds = samples.filter((s) => s.status >= 500 && s.status !== 503);
    const non503 = outageApi.filter((s) => s.status !== 503);
    const without = outageApi.filter((s) => s.status === 503 && (!s.retryAfter || s.type !== 'service_unavailable'));
    const rssBefore = Math.max(...rss.filter((r) => r.phase === 'before').map((r) => r.bytes));
    const rssOutage = Math.max(...rss.filter((r) => r.phase === 'outage').map((r) => r.bytes));
    const rssAfter = rss.at(-1)?.bytes ?? 0;
    const byPhase = countBy(accepted, (a) => a.phase);

    const outageMs = outageApi.map((s) => s.ms);
    const outageLatency = `${round(percentile(outageMs, 50), 1)} / ${round(percentile(outageMs, 99), 1)} / ${round(Math.max(...outageMs), 1)} ms`;
    report.summary =
      `${outageApi.length} requests during a ${OUTAGE_MS / 1000} s outage: ${statuses['503'] ?? 0} × 503, max ${round(Math.max(...outageMs))} ms; ` +
      `${accepted.length} jobs accepted (${byPhase.before ?? 0} before), ${views.length - notCompleted.length} completed, lost ${notCompleted.length}`;
    report.headline('503 latency during a Redis outage p50 / p99 / max', `${outageLatency} over ${outageApi.length} requests`);
    report.headline(
      'jobs accepted around a Redis crash / lost',
      `${accepted.length} (${byPhase.before ?? 0} before it) / ${notCompleted.length}`,
    );
    report.set('client loops (+1 /healthz loop)', CLIENTS);
    report.set(
      'outage',
      `redis-server SIGKILLed ${round(outageStarted / 1000, 1)} s into the load, restarted ${round((restarted - outageStarted) / 1000, 1)} s later (same port, same appendonly dir, appendfsync always)`,
    );
    report.set('requests in all', samples.length);
    report.set('requests started during the outage (API routes)', outageApi.length);
    report.set('  their statuses', JSON.stringify(statuses));
    report.set('  503 latency p50 / p99 / max', outageLatency);
    report.set(
      `  slower than ${FAST_MS} ms (of which still slower once the API's run-queue wait is taken off)`,
      `${overFast.length} (${slow.length}); API main thread waited for a CPU ${Math.round((sched.total(api.pid).waitMs / Math.max(1, sched.total(api.pid).wallMs)) * 100)}% of the test`,
    );
    report.set('  503s without retry-after or service_unavailable type', without.length);
    report.set(
      '/healthz during the outage: count, max latency',
      `${outageHealth.length}, ${round(Math.max(...outageHealth.map((s) => s.ms)), 1)} ms`,
    );
    report.set('requests without any answer (hang, reset), whole test', noAnswer.length);
    report.set('5xx other than 503, whole test', fiveHundreds.length);
    report.set('API RSS before / peak during outage / after', `${mb(rssBefore)} / ${mb(rssOutage)} / ${mb(rssAfter)} MiB`);
    report.set(
      'API live heap (after a full GC) before / late in the outage',
      `${mb(heapBefore?.heapUsed)} / ${mb(heapOutage?.heapUsed)} MiB`,
    );
    report.set('restart -> /readyz 200', `${round(readyMs)} ms`);
    report.set('restart -> first 202', `${round(firstAcceptMs)} ms`);
    report.set(
      'jobs accepted before / during / after the outage',
      `${byPhase.before ?? 0} / ${byPhase.outage ?? 0} / ${(byPhase.restarting ?? 0) + (byPhase.after ?? 0)}`,
    );
    report.set('jobs completed', views.length - notCompleted.length);
    report.set('lost (accepted, not completed)', notCompleted.length);
    report.set('queue drained after the load stopped in', `${round(drainMs / 1000, 1)} s`);
    report.set('API and worker processes restarted by the test', 0);

    expect(ready).toBe(true);
    expect(firstAfter).toBe(true);
    expect(before).toBeGreaterThan(0);
    expect(outageApi.length).toBeGreaterThan(100);
    expect(noAnswer.map((s) => `${s.kind} ${s.phase} ${s.error}`).slice(0, 5)).toEqual([]);
    expect(fiveHundreds.slice(0, 5)).toEqual([]);
    expect(non503.slice(0, 5)).toEqual([]);
    expect(without.slice(0, 5)).toEqual([]);
    expect(slow.slice(0, 5)).toEqual([]);
    expect(outageHealth.every((s) => s.status === 200)).toBe(true);
    expect(rssOutage - rssBefore).toBeLessThan(64 * 1048576);
    expect(heapBefore && heapOutage).toBeTruthy();
    expect((heapOutage?.heapUsed ?? 0) - (heapBefore?.heapUsed ?? 0)).toBeLessThan(16 * 1048576);
    expect(notCompleted.slice(0, 5)).toEqual([]);
    expect(api.alive()).toBe(true);
    expect(cluster.workers.map((w) => w.pid)).toEqual(workerPids);
    expect(cluster.workers.every((w) => w.alive())).toBe(true);
    report.passed();
  });

  it('a Redis that is slow, not down: answers stay fast, and an Idempotency-Key makes the retry of an unclear answer safe', async () => {
    redis ??= cluster.client();
    const pauser = cluster.client();
    const marker = `slow-${Date.now().toString(36)}`;
    const submit = (key?: string) =>
      call(cluster.apiUrl, '/v1/jobs', {
        body: { model: 'mock/echo', messages: [{ role: 'user', content: `${marker} ${key ?? 'no key'}` }] },
        headers: key ? { 'idempotency-key': key } : {},
        timeoutMs: 10_000,
      });
    // Writes (and scripts) wait 1.5 s in Redis: longer than the API's 1 s command deadline, then they run.
    await pauser.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    const [withKey, withoutKey] = await Promise.all([submit(`${marker}-k`), submit()]);
    await sleep(2500);
    pauser.disconnect();
    const retried = await submit(`${marker}-k`);
    // What Redis holds afterwards for each submission.
    const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: queuePrefix(cluster.namespace), skipVersionCheck: true });
    await waitUntil(async () => (await queue.getJobCounts('waiting', 'active', 'prioritized')).waiting === 0, 10_000);
    const jobs = (await queue.getJobs(['completed', 'waiting', 'active', 'failed'], 0, 2000)).filter((j) =>
      String(j.data?.request?.messages?.[0]?.content ?? '').startsWith(marker),
    );
    await queue.close();
    const keyed = jobs.filter((j) => String(j.data.request.messages[0].content).endsWith('-k'));
    const unkeyed = jobs.filter((j) => String(j.data.request.messages[0].content).endsWith('no key'));

    report.set(
      'slow Redis (CLIENT PAUSE WRITE 1.5 s): answers to two submissions',
      `${withKey.status} in ${round(withKey.ms)} ms, ${withoutKey.status} in ${round(withoutKey.ms)} ms`,
    );
    report.set('  jobs in Redis afterwards (with key / without)', `${keyed.length} / ${unkeyed.length}`);
    report.set(
      '  retry with the same Idempotency-Key',
      `${retried.status}, replayed ${retried.headers['idempotent-replayed'] ?? 'no'}, same id ${retried.status === 202 && keyed.length === 1 && retried.json().id === keyed[0]?.id}`,
    );
    // A write Redis performed late is settled by the API (apps/api/src/jobs/write-outcome.ts): the
    // client without a key gets a 202, or a 503 outcome_unknown that names the job; never a plain
    // "retry" for a job that exists.
    if (withoutKey.status === 503) {
      expect(withoutKey.json().error).toMatchObject({ code: 'outcome_unknown' });
      expect(unkeyed.map((j) => j.id)).toEqual([withoutKey.json().error.job_id]);
    } else {
      expect(withoutKey.status).toBe(202);
      expect(unkeyed.length).toBe(1);
    }
    // No hang: an answer within the pause plus the deadline; and the keyed retry never makes a second job.
    expect(withKey.ms).toBeLessThan(3000);
    expect(withoutKey.ms).toBeLessThan(3000);
    expect([202, 503]).toContain(withKey.status);
    expect(keyed.length).toBe(1);
    expect(retried.status).toBe(202);
    expect(retried.json().id).toBe(keyed[0]?.id);
    report.passed();
  });

  it('leaks no key in any log line, response or Redis value', async () => {
    redis ??= cluster.client();
    report.set('Redis keys scanned for secrets', await scanRedisForSecrets(redis));
    await cluster.stop();
    expect(scanner.leaks).toEqual([]);
    report.passed();
  });
});

function safeType(a: Answer): string | undefined {
  try {
    return a.json().error?.type;
  } catch {
    return undefined;
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}
