/**
 * B6 the tail: a provider with a heavy tail (the mock server delays 5% of calls by 5 s, the rest
 * answer in 5-15 ms). Jobs arrive open loop and their latency runs from the scheduled submission
 * to the worker's completion message. With hedging: each job names a fallback (`mock/tail-b`) that
 * the router may hedge to after HEDGE_DELAY_MS (default 1200 ms, token-bucket rationed). Without:
 * the same jobs with no second candidate, so nothing can be hedged. Same workers, same defaults.
 * Upstream calls are counted at the mock server. Target: p99 with / p99 without <= 0.4 at <= 10%
 * extra upstream calls.
 */
import { randomUUID } from 'node:crypto';
import type { JobRequest } from '@switchyard/shared';
import { type BenchContext, bySize } from './lib/context.ts';
import { DoneWatcher, OursFleet } from './lib/fleet.ts';
import { type OpenLoopResult, openLoop } from './lib/open-loop.ts';
import { sleep } from './lib/processes.ts';
import { unfinished } from './lib/queue.ts';
import { type BenchOutcome, ratio } from './lib/results.ts';
import { type LatencySummary, summarize } from './lib/stats.ts';

const PARAMS = {
  tiny: { rate: 20, durationS: 2, workers: 1 },
  quick: { rate: 40, durationS: 7, workers: 2 },
  full: { rate: 30, durationS: 30, workers: 2 },
};
const TAIL = { provider: 'mock', model: 'tail-*', fault: 'latency=5-15;tail=5%:5000' };

interface Side {
  result: Omit<OpenLoopResult, 'latencies' | 'lagMs'>;
  latency: LatencySummary;
  /** The slowest job latencies, ms. */
  slowest: number[];
  upstreamCalls: number;
  abandonedCalls: number;
  jobs: number;
}

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { rate, durationS, workers } = bySize(ctx.size, PARAMS);
  const fleet = await OursFleet.get(ctx);
  await fleet.workersTo(workers);
  const watcher = await DoneWatcher.start(ctx.redis.url, fleet.namespace);
  const mock = fleet.mock;
  try {
    const side = async (hedged: boolean): Promise<Side> => {
      while ((await unfinished(fleet.queue)) > 0) await sleep(100);
      await mock.setFaults([TAIL]);
      await mock.resetStats();
      const result = await openLoop({
        rate,
        durationMs: durationS * 1000,
        maxInFlight: 5_000,
        drainMs: 60_000,
        send: async (i) => {
          const id = randomUUID();
          const request: JobRequest = {
            model: 'mock/tail-a',
            ...(hedged ? { fallbacks: ['mock/tail-b'] } : {}),
            messages: [{ role: 'user', content: `tail job ${i}` }],
          };
          const done = watcher.wait(id, 60_000);
          const { name, data, opts } = fleet.jobs.job(request, id, { notify: true });
          await fleet.queue.add(name, data, opts);
          const message = await done;
          if (!message) throw new Error(`job ${id} did not finish within 60 s`);
          if (message.status !== 'completed') throw new Error(`job ${id} ${message.status}: ${message.error?.message ?? ''}`);
        },
      });
      await sleep(200);
      const stats = (await mock.stats()).byProvider.mock;
      const { latencies, lagMs, ...rest } = result;
      return {
        result: rest,
        latency: summarize(latencies),
        slowest: [...latencies].sort((a, b) => b - a).slice(0, 12),
        upstreamCalls: stats?.received ?? 0,
        abandonedCalls: stats?.abandoned ?? 0,
        jobs: result.scheduled,
      };
    };
    const withHedging = await side(true);
    ctx.log(
      `B6 hedged: p50 ${withHedging.latency.p50.toFixed(1)} p99 ${withHedging.latency.p99.toFixed(1)} ms, ${withHedging.upstreamCalls} calls for ${withHedging.jobs} jobs`,
    );
    const without = await side(false);
    ctx.log(
      `B6 no hedge: p50 ${without.latency.p50.toFixed(1)} p99 ${without.latency.p99.toFixed(1)} ms, ${without.upstreamCalls} calls for ${without.jobs} jobs`,
    );
    const p99Ratio = ratio(withHedging.latency.p99, without.latency.p99);
    const callsPerJob = (s: Side) => s.upstreamCalls / Math.max(1, s.jobs);
    const extra = callsPerJob(withHedging) / callsPerJob(without) - 1;
    const failures = withHedging.result.failed + without.result.failed;
    return {
      id: 'B6',
      title: 'hedging and the tail',
      ours: `jobs with a fallback candidate, so the router hedges after HEDGE_DELAY_MS (defaults: 1200 ms, HEDGE_RATIO 0.1, HEDGE_BURST 20); ${workers} worker process(es); ${rate} jobs/s for ${durationS} s; provider: 5-15 ms, 5% of calls +5 s.`,
      baseline: 'the same jobs without a second candidate (nothing to hedge to), same workers, provider and load.',
      rows: [
        {
          figure: 'job latency p99',
          unit: 'ms',
          ours: withHedging.latency.p99,
          baseline: without.latency.p99,
          ratio: p99Ratio,
          target: '<= 0.4',
          pass: p99Ratio !== null && p99Ratio <= 0.4 && failures === 0,
          ...(failures ? { note: `${failures} jobs failed` } : {}),
        },
        {
          figure: 'job latency p50',
          unit: 'ms',
          ours: withHedging.latency.p50,
          baseline: without.latency.p50,
          ratio: ratio(withHedging.latency.p50, without.latency.p50),
          target: 'info',
          pass: null,
        },
        {
          figure: 'upstream calls per job',
          unit: 'calls',
          ours: callsPerJob(withHedging),
          baseline: callsPerJob(without),
          ratio: ratio(callsPerJob(withHedging), callsPerJob(without)),
          target: '<= 1.10 (10% extra)',
          pass: extra <= 0.1,
          note: `${(extra * 100).toFixed(1)}% extra calls; ${withHedging.abandonedCalls} hedge losers were cancelled by the winner (the mock saw the client go away)`,
        },
      ],
      details: { rate, durationS, workers, fault: TAIL, hedged: withHedging, unhedged: without },
    };
  } finally {
    await mock.clearFaults().catch(() => {});
    watcher.close();
  }
}
