/**
 * Owns one figure for the tests that time real processes: how long, within a window, the machine
 * kept them from running. Every child process reports its event-loop delay each half-second
 * (loop-delay.ts); this process (where the mock providers and the test's own clock run) records
 * its own the same way. A timer due at the budget or the hedge delay can only fire once its process
 * runs again, so a wall-clock bound on a shared 2-core machine is the design's bound plus these
 * stalls: on an idle machine they are close to zero and the bound stays as strict as designed.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LoopDelay, ServiceProcess } from './processes.ts';

/** The histogram's own sampling interval: an idle loop reports about this much. */
const RESOLUTION_MS = 10;
const BUCKET_MS = 500;

/** Records this process's event-loop delay every half-second, as loop-delay.ts does in children. */
export function recordOwnLoopDelay(): { samples: LoopDelay[]; stop(): void } {
  const samples: LoopDelay[] = [];
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const timer = setInterval(() => {
    samples.push({ t: Date.now(), max: Math.round(histogram.max / 1e6), p99: Math.round(histogram.percentile(99) / 1e6) });
    histogram.reset();
  }, BUCKET_MS);
  timer.unref();
  return {
    samples,
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}

/**
 * Milliseconds the event loops of `series` (one per process) were held up between `from` and `to`
 * (epoch ms): per half-second, the worst delay beyond the sampling interval among them, summed.
 * Generous on purpose (a stall that spans two half-seconds counts in both): it only ever widens a
 * bound by what the machine demonstrably took.
 */
export function stalledMs(series: ReadonlyArray<readonly LoopDelay[]>, from: number, to: number): number {
  const worst = new Map<number, number>();
  for (const samples of series) {
    for (const s of samples) {
      // A sample covers the half-second before its `t`.
      if (s.t < from || s.t - BUCKET_MS > to) continue;
      const bucket = Math.floor(s.t / BUCKET_MS);
      worst.set(bucket, Math.max(worst.get(bucket) ?? 0, Math.max(0, s.max - RESOLUTION_MS)));
    }
  }
  let total = 0;
  for (const ms of worst.values()) total += ms;
  return total;
}

/** The loop-delay series of running processes, for stalledMs. */
export function loopDelays(procs: readonly ServiceProcess[]): LoopDelay[][] {
  return procs.map((p) => p.loopDelay);
}
