/**
 * B5 breaker convergence: how many calls a dead provider receives before the fleet stops calling
 * it, with 8, 4 and 1 worker processes. Jobs for `mock/dead` (the mock server answers 503 after
 * 20 ms) arrive open loop at a fixed rate and are spread over the processes by the queue. Calls are
 * counted at the mock server, exactly.
 * Ours: our worker processes, one fleet-wide breaker in Redis (CIRCUIT_FAILURE_THRESHOLD=5).
 * Baseline: bench/procs/local-breaker-worker.ts processes, the same threshold counted per process.
 * Target: calls = threshold + the calls already admitted when the circuit opened (so none after the
 * open), flat in N (the baseline needs ~N x threshold).
 */
import { randomUUID } from 'node:crypto';
import { queuePrefix } from '@switchyard/shared';
import { createStateStore, stateEventsChannel } from '@switchyard/state';
import type { Queue } from 'bullmq';
import { type BenchContext, bySize } from './lib/context.ts';
import { OursFleet, WORKER_CONCURRENCY } from './lib/fleet.ts';
import { openLoop } from './lib/open-loop.ts';
import { type Proc, sleep, startBenchProc, startInBatches, stopAll } from './lib/processes.ts';
import { benchConnection, OurJobs, plainQueue, unfinished } from './lib/queue.ts';
import { type BenchOutcome, type Row, ratio } from './lib/results.ts';

const PARAMS = {
  tiny: { workers: [2, 1], rate: 50, durationS: 1 },
  quick: { workers: [8, 4, 1], rate: 100, durationS: 2 },
  full: { workers: [8, 4, 1], rate: 100, durationS: 5 },
};
const THRESHOLD = 5;
const DEAD = { provider: 'mock', model: 'dead', fault: 'status=503;latency=20' };

const silent = { debug() {}, info() {}, warn() {}, error() {} };

interface Phase {
  workers: number;
  calls: number;
  /** Calls that reached the provider after the bench saw the circuit open (ours only). */
  callsAfterOpen: number | null;
  /** Most calls in flight at the provider at any moment before it was cut off. */
  peakInFlight: number;
  /** Admissions the workers let through because Redis did not answer in time (router.admit.fail_open). */
  failOpenAdmissions: number | null;
  jobs: number;
  openedAtMs: number | null;
}

/** Samples the mock's in-flight calls (one admin request at a time, every 5 ms: the window it watches is the one where the workers need the CPU) until stopped. */
function inFlightSampler(read: () => Promise<number>) {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await read().catch(() => 0));
      await sleep(5);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function drain(queue: Queue, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await unfinished(queue)) > 0) {
    if (Date.now() > deadline) throw new Error(`B5: queue ${queue.name} not drained within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { workers, rate, durationS } = bySize(ctx.size, PARAMS);
  const fleet = await OursFleet.get(ctx);
  const mock = fleet.mock;
  const jobs = new OurJobs(fleet.connection, fleet.namespace, { ...fleet.env, JOB_ATTEMPTS: '1' });
  const state = createStateStore(fleet.connection, jobs.config, silent);
  const events = benchConnection(ctx.redis.url);
  let openedAt: { at: number; received: number } | null = null;
  events.on('message', (_channel: string, raw: string) => {
    try {
      const event = JSON.parse(raw) as { type?: string; provider?: string; to?: string };
      if (event.type === 'circuit' && event.provider === 'mock' && event.to === 'open' && !openedAt) {
        const at = performance.now();
        openedAt = { at, received: -1 };
        const marker = openedAt;
        void mock.stats().then((s) => {
          marker.received = s.byProvider.mock?.received ?? 0;
        });
      }
    } catch {
      // not ours to judge
    }
  });
  await events.subscribe(stateEventsChannel(fleet.namespace));

  const lbNamespace = ctx.namespace('lb');
  const lbConnection = benchConnection(ctx.redis.url);
  const lbQueue = plainQueue(lbConnection, lbNamespace, 'lb');
  lbQueue.on('error', () => {});
  const lbShape = new OurJobs(lbConnection, lbNamespace, { JOB_ATTEMPTS: '1' });
  const lbWorkers: Proc[] = [];
  let lbStarted = 0;
  const lbTo = async (n: number) => {
    if (lbWorkers.length > n) await stopAll(lbWorkers.splice(n));
    const missing = n - lbWorkers.length;
    const started = await startInBatches(Math.max(0, missing), () =>
      startBenchProc(`local-breaker-${++lbStarted}`, 'bench/procs/local-breaker-worker.ts', {
        REDIS_URL: ctx.redis.url,
        BENCH_PREFIX: queuePrefix(lbNamespace),
        BENCH_QUEUE: 'lb',
        CONCURRENCY: String(WORKER_CONCURRENCY),
        THRESHOLD: String(THRESHOLD),
        PROVIDER_URL: `${mock.baseUrls.mock}/mock/v1/chat/completions`,
        MODEL: DEAD.model,
      }),
    );
    lbWorkers.push(...started);
    for (const w of lbWorkers) w.child.kill('SIGUSR2');
  };

  const load = async (queue: Queue, build: (i: number) => ReturnType<OurJobs['job']>) => {
    const result = await openLoop({
      rate,
      durationMs: durationS * 1000,
      maxInFlight: 10_000,
      send: async (i) => {
        const { name, data, opts } = build(i);
        await queue.add(name, data, opts);
      },
    });
    return result.scheduled;
  };
  const warmRequest = (i: number) => ({ model: 'mock/warm', messages: [{ role: 'user' as const, content: `warm-up job ${i}` }] });
  const spread = (job: ReturnType<OurJobs['job']>) => [job.name, job.data, job.opts] as const;
  const request = (i: number) => ({
    model: `mock/${DEAD.model}`,
    messages: [{ role: 'user' as const, content: `dead provider job ${i}` }],
  });

  const ours: Phase[] = [];
  const base: Phase[] = [];
  try {
    for (const n of workers) {
      // ---- ours -----------------------------------------------------------------------------
      await fleet.workersTo(n);
      await lbTo(n);
      // Warm every process's provider path (HTTP client, JIT) on a healthy model first.
      await mock.clearFaults();
      for (let i = 0; i < 8 * n; i++) {
        await jobs.queue.add(...spread(jobs.job(warmRequest(i), randomUUID())));
        await lbQueue.add(...spread(lbShape.job(warmRequest(i), randomUUID())));
      }
      await drain(fleet.queue, 60_000);
      await drain(lbQueue, 60_000);
      await state.breaker.reset('mock', Date.now());
      await sleep(1_300); // every worker's local memory of a denial (<= 1 s) has lapsed
      await mock.setFaults([DEAD]);
      await mock.resetStats();
      openedAt = null;
      const failOpen = fleet.workers.map((w) => w.countLines(/router\.admit\.fail_open/));
      const t0 = performance.now();
      const sampler = inFlightSampler(async () => (openedAt ? 0 : ((await mock.stats()).byProvider.mock?.inFlight ?? 0)));
      const submitted = await load(jobs.queue, (i) => jobs.job(request(i), randomUUID()));
      await drain(fleet.queue, 60_000);
      const peak = await sampler.stop();
      const calls = (await mock.stats()).byProvider.mock?.received ?? 0;
      const opened = openedAt as { at: number; received: number } | null;
      ours.push({
        workers: n,
        calls,
        callsAfterOpen: opened ? calls - opened.received : null,
        peakInFlight: peak,
        failOpenAdmissions: failOpen.reduce((n, read) => n + read(), 0),
        jobs: submitted,
        openedAtMs: opened ? opened.at - t0 : null,
      });

      // ---- baseline: per-process breakers ----------------------------------------------------
      await mock.resetStats();
      const sampler2 = inFlightSampler(async () => (await mock.stats()).byProvider.mock?.inFlight ?? 0);
      const submitted2 = await load(lbQueue, (i) => lbShape.job(request(i), randomUUID()));
      await drain(lbQueue, 60_000);
      base.push({
        workers: n,
        calls: (await mock.stats()).byProvider.mock?.received ?? 0,
        callsAfterOpen: null,
        peakInFlight: await sampler2.stop(),
        failOpenAdmissions: null,
        jobs: submitted2,
        openedAtMs: null,
      });
      ctx.log(`B5 N=${n}: ours ${ours.at(-1)!.calls} calls (peak in flight ${peak}), per-process breakers ${base.at(-1)!.calls} calls`);
    }
  } finally {
    await mock.clearFaults().catch(() => {});
    await state.breaker.reset('mock', Date.now()).catch(() => {});
    events.disconnect();
    await stopAll(lbWorkers);
    await lbQueue.close().catch(() => {});
    await lbShape.close().catch(() => {});
    await jobs.close().catch(() => {});
    lbConnection.disconnect();
  }

  const rows: Row[] = [...ours]
    .sort((a, b) => a.workers - b.workers)
    .map((o) => {
      const b = base.find((x) => x.workers === o.workers)!;
      const inFlight = Math.max(0, o.calls - THRESHOLD - (o.failOpenAdmissions ?? 0));
      return {
        figure: `calls to a dead provider, ${o.workers} worker process${o.workers > 1 ? 'es' : ''}`,
        unit: 'calls',
        ours: o.calls,
        baseline: b.calls,
        ratio: ratio(o.calls, b.calls),
        target: '<= threshold + in flight',
        pass: o.openedAtMs !== null && o.failOpenAdmissions === 0 && o.calls >= THRESHOLD,
        note:
          o.openedAtMs === null
            ? 'the circuit never opened'
            : `${THRESHOLD} counted + ${inFlight} already admitted when the circuit opened (at most ${o.peakInFlight} at the provider at once; ${o.callsAfterOpen} reached it after the bench saw the open event, admitted before it) + ${o.failOpenAdmissions} admitted without the breaker (router.admit.fail_open: Redis slower than the admit deadline; must be 0); opened ${Math.round(o.openedAtMs)} ms after the first job; ${o.jobs} jobs`,
      };
    });
  /** Least-squares slope of calls against processes: what each added process costs. */
  const slope = (phases: Phase[]) => {
    const xs = phases.map((p) => p.workers);
    const ys = phases.map((p) => p.calls);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const num = xs.reduce((acc, x, i) => acc + (x - mx) * (ys[i]! - my), 0);
    const den = xs.reduce((acc, x) => acc + (x - mx) ** 2, 0);
    return den === 0 ? 0 : num / den;
  };
  if (ours.length > 1) {
    rows.push({
      figure: `extra calls per added worker process (slope over ${workers.join('/')})`,
      unit: 'calls',
      ours: slope(ours),
      baseline: slope(base),
      ratio: null,
      target: 'flat: <= 1',
      pass: slope(ours) <= 1,
      note: `per-process breakers need about ${THRESHOLD} more per process (each one counts its own ${THRESHOLD})`,
    });
  }
  return {
    id: 'B5',
    title: 'breaker convergence',
    ours: `N of our worker processes (WORKER_CONCURRENCY=${WORKER_CONCURRENCY}), fleet-wide breaker (threshold ${THRESHOLD}); ${rate} jobs/s for ${durationS} s to a provider answering 503 after 20 ms; JOB_ATTEMPTS=1.`,
    baseline: `N processes with a per-process breaker (local counter, same threshold and concurrency) calling the same dead provider with the same jobs.`,
    rows,
    details: { threshold: THRESHOLD, rate, durationS, ours, baseline: base },
  };
}
