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
import { type Proc, sleep, startBenchProc, stopAll } from './lib/processes.ts';
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
  jobs: number;
  openedAtMs: number | null;
}

/** Samples the mock's in-flight calls every 2 ms until stopped. */
function inFlightSampler(read: () => number) {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, 2);
  return {
    stop: () => {
      clearInterval(timer);
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
        openedAt = { at: performance.now(), received: mock.stats().byProvider.mock?.received ?? 0 };
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
    const started = await Promise.all(
      Array.from({ length: Math.max(0, missing) }, () =>
        startBenchProc(`local-breaker-${++lbStarted}`, 'bench/procs/local-breaker-worker.ts', {
          REDIS_URL: ctx.redis.url,
          BENCH_PREFIX: queuePrefix(lbNamespace),
          BENCH_QUEUE: 'lb',
          CONCURRENCY: String(WORKER_CONCURRENCY),
          THRESHOLD: String(THRESHOLD),
          PROVIDER_URL: `${mock.baseUrls.mock}/mock/v1/chat/completions`,
          MODEL: DEAD.model,
        }),
      ),
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
  const request = (i: number) => ({
    model: `mock/${DEAD.model}`,
    messages: [{ role: 'user' as const, content: `dead provider job ${i}` }],
  });

  const ours: Phase[] = [];
  const base: Phase[] = [];
  try {
    for (const n of workers) {
      // ---- ours -----------------------------------------------------------------------------
      await Promise.all([fleet.workersTo(n), lbTo(n)]);
      await drain(fleet.queue, 30_000);
      await state.breaker.reset('mock', Date.now());
      await sleep(1_300); // every worker's local memory of a denial (<= 1 s) has lapsed
      mock.setFaults([DEAD]);
      mock.resetStats();
      openedAt = null;
      const t0 = performance.now();
      const sampler = inFlightSampler(() => (openedAt ? 0 : (mock.stats().byProvider.mock?.inFlight ?? 0)));
      const submitted = await load(jobs.queue, (i) => jobs.job(request(i), randomUUID()));
      await drain(fleet.queue, 60_000);
      const peak = sampler.stop();
      const calls = mock.stats().byProvider.mock?.received ?? 0;
      const opened = openedAt as { at: number; received: number } | null;
      ours.push({
        workers: n,
        calls,
        callsAfterOpen: opened ? calls - opened.received : null,
        peakInFlight: peak,
        jobs: submitted,
        openedAtMs: opened ? opened.at - t0 : null,
      });

      // ---- baseline: per-process breakers ----------------------------------------------------
      mock.resetStats();
      const sampler2 = inFlightSampler(() => mock.stats().byProvider.mock?.inFlight ?? 0);
      const submitted2 = await load(lbQueue, (i) => lbShape.job(request(i), randomUUID()));
      await drain(lbQueue, 60_000);
      base.push({
        workers: n,
        calls: mock.stats().byProvider.mock?.received ?? 0,
        callsAfterOpen: null,
        peakInFlight: sampler2.stop(),
        jobs: submitted2,
        openedAtMs: null,
      });
      ctx.log(`B5 N=${n}: ours ${ours.at(-1)!.calls} calls (peak in flight ${peak}), per-process breakers ${base.at(-1)!.calls} calls`);
    }
  } finally {
    mock.clearFaults();
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
      const inFlight = Math.max(0, o.calls - THRESHOLD);
      return {
        figure: `calls to a dead provider, ${o.workers} worker process${o.workers > 1 ? 'es' : ''}`,
        unit: 'calls',
        ours: o.calls,
        baseline: b.calls,
        ratio: ratio(o.calls, b.calls),
        target: '= threshold + in flight',
        pass: o.openedAtMs !== null && o.callsAfterOpen === 0,
        note:
          o.openedAtMs === null
            ? 'the circuit never opened'
            : `threshold ${THRESHOLD} + ${inFlight} admitted before the open landed (peak ${o.peakInFlight} at the provider at once); ${o.callsAfterOpen} after the open event (must be 0); opened ${Math.round(o.openedAtMs)} ms after the first job; ${o.jobs} jobs`,
      };
    });
  const spread = (phases: Phase[]) => Math.max(...phases.map((p) => p.calls)) - Math.min(...phases.map((p) => p.calls));
  if (ours.length > 1) {
    rows.push({
      figure: `spread over ${workers.join('/')} processes (max - min calls)`,
      unit: 'calls',
      ours: spread(ours),
      baseline: spread(base),
      ratio: null,
      target: `flat: <= ${THRESHOLD}`,
      pass: spread(ours) <= THRESHOLD,
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
