/**
 * Open-loop load: requests start on a fixed schedule (request i at t0 + i / rate), whether or not
 * earlier ones have answered, so a slow system cannot slow the load down and hide its own latency
 * (coordinated omission). Latency is measured from the scheduled start, not from when the event
 * loop got round to sending. In-flight requests are capped: past the cap a request is counted as
 * dropped instead of piling up without bound.
 */
import { performance } from 'node:perf_hooks';

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  /** How long requests are started for. */
  durationMs: number;
  /** Most requests in flight at once; beyond it a scheduled request is dropped. */
  maxInFlight: number;
  /** Sends request `i`; resolves when its answer is complete, rejects on failure. */
  send: (i: number) => Promise<void>;
  /** Waits at most this long for the last answers after the schedule ends. */
  drainMs?: number;
}

export interface OpenLoopResult {
  scheduled: number;
  completed: number;
  failed: number;
  dropped: number;
  /** Milliseconds from each request's scheduled start to its complete answer (successes only). */
  latencies: number[];
  /** Milliseconds the sender started late, per request (how far the generator lagged). */
  lagMs: number[];
  /** Requests completed per second while the schedule ran (a system that keeps up answers at `rate`). */
  achievedRate: number;
  firstError?: string;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.floor((options.rate * options.durationMs) / 1000));
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  const lagMs: number[] = [];
  let inFlight = 0;
  let failed = 0;
  let dropped = 0;
  let firstError: string | undefined;
  let next = 0;
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();

  const fire = (i: number) => {
    const scheduledAt = t0 + i * interval;
    if (inFlight >= options.maxInFlight) {
      dropped++;
      return;
    }
    inFlight++;
    lagMs.push(performance.now() - scheduledAt);
    const p = options.send(i).then(
      () => {
        latencies.push(performance.now() - scheduledAt);
      },
      (err: unknown) => {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      },
    );
    const tracked = p.finally(() => {
      inFlight--;
      pending.delete(tracked);
    });
    pending.add(tracked);
  };

  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - t0) / interval) + 1);
      while (next < due) fire(next++);
      if (next >= total) return done();
      const wait = t0 + next * interval - performance.now();
      setTimeout(tick, Math.max(0, Math.floor(wait)));
    };
    tick();
  });
  const scheduleEnd = performance.now();
  const completedInSchedule = latencies.length;
  const drainMs = options.drainMs ?? 30_000;
  await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, drainMs).unref())]);
  const stillOpen = pending.size;
  return {
    scheduled: total,
    completed: latencies.length,
    failed: failed + stillOpen,
    dropped,
    latencies: [...latencies],
    lagMs: [...lagMs],
    achievedRate: (completedInSchedule * 1000) / Math.max(1, scheduleEnd - t0),
    ...(firstError ? { firstError } : stillOpen ? { firstError: `${stillOpen} requests unanswered after ${drainMs} ms` } : {}),
  };
}
