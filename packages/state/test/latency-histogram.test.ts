/**
 * The latency histogram against exact percentiles (DESIGN.md section 6): a property test through
 * the real write path (report, flush: pipelined HINCRBY and the metrics-extremes script) and the
 * real read path (readDailyMetrics merging two days, readMinuteSeries reading one minute,
 * readCounters' recent percentiles for GET /metrics), the
 * bucket layout, concurrent writers of the observed extremes, and data of the previous layout.
 *
 * Exact quantile: nearest rank, the ceil(q * n)-th smallest call, which the estimator aims at.
 * When q * n is a whole number k, every value from the k-th to the (k+1)-th call is a q-quantile
 * just as well (and float rounding of q * n may land on either side), so the estimate is held
 * against the nearest point of that range.
 */

import { clearOfDayBoundary } from '@switchyard/shared/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bucketIndex,
  LATENCY_BOUNDS_MS,
  LATENCY_BUCKET_COUNT,
  type LatencySummary,
  PROMETHEUS_BOUNDS_MS,
  roundLatency,
  utcDate,
} from '../src/index.ts';
import { failure, setup, type TestContext } from './helpers.ts';

const DAY_MS = 86_400_000;
const QUANTILES = [
  ['p50', 0.5],
  ['p95', 0.95],
  ['p99', 0.99],
] as const;

let t: TestContext | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** The q-quantiles of `sorted` (ascending): the range [lowest, highest] described at the top. */
function exactQuantileRange(sorted: readonly number[], q: number): [number, number] {
  const n = sorted.length;
  const at = (rank: number) => sorted[Math.min(n, Math.max(1, rank)) - 1] as number;
  const k = q * n;
  const whole = Math.abs(k - Math.round(k)) < 1e-9;
  return whole ? [at(Math.round(k)), at(Math.round(k) + 1)] : [at(Math.ceil(k)), at(Math.ceil(k))];
}

/** Why `estimate` is not within max(10%, 1 ms) of an exact q-quantile of `latencies`; null when it is. */
function quantileError(latencies: readonly number[], q: number, estimate: number | null): string | null {
  const sorted = [...latencies].sort((a, b) => a - b);
  const [lo, hi] = exactQuantileRange(sorted, q);
  if (estimate === null) return `null, exact ${lo}`;
  const nearest = Math.min(hi, Math.max(lo, estimate));
  const allowed = Math.max(0.1 * nearest, 1) + 1e-9;
  return Math.abs(estimate - nearest) <= allowed ? null : `${estimate} vs exact ${lo === hi ? lo : `${lo}..${hi}`} (allowed ${allowed})`;
}

function expectSummary(label: string, latencies: readonly number[], summary: LatencySummary | undefined): void {
  if (!summary) throw new Error(`${label}: no latency figures`);
  expect(summary.count, label).toBe(latencies.length);
  expect(summary.min, label).toBe(roundLatency(Math.min(...latencies)));
  expect(summary.max, label).toBe(roundLatency(Math.max(...latencies)));
  for (const [name, q] of QUANTILES)
    expect(quantileError(latencies, q, summary[name]), `${label} ${name} of ${latencies.length}`).toBeNull();
}

/** Log-uniform over 0.1 ms .. 60 s: every decade gets its share. */
const latency = fc
  .double({ min: Math.log(0.1), max: Math.log(60_000), noNaN: true })
  .map((x) => Math.min(60_000, Math.max(0.1, Math.exp(x))));
/** Calls bunched around one latency (a steady provider), a few of them slow. */
const clustered = (size: fc.Arbitrary<number>) =>
  fc
    .tuple(latency, size)
    .chain(([centre, n]) =>
      fc.array(
        fc.oneof(
          { weight: 9, arbitrary: fc.double({ min: 0.9, max: 1.1, noNaN: true }).map((f) => Math.min(60_000, Math.max(0.1, centre * f))) },
          { weight: 1, arbitrary: latency },
        ),
        { minLength: n, maxLength: n },
      ),
    );
const sizes = fc.oneof(fc.constantFrom(1, 2, 3, 10, 20, 100), fc.integer({ min: 1, max: 40 }), fc.constantFrom(1000, 1500));
const latencySets = fc.oneof(
  sizes.chain((n) => fc.array(latency, { minLength: n, maxLength: n })),
  clustered(sizes),
  // Ties: a handful of distinct values repeated.
  fc
    .tuple(fc.array(latency, { minLength: 1, maxLength: 4 }), sizes)
    .chain(([values, n]) => fc.array(fc.constantFrom(...values), { minLength: n, maxLength: n })),
);

describe('bucket layout', () => {
  it('log-spaced from 0.1 ms to 60 s, each bound at most 1.1 times the one before, Prometheus bounds among them', () => {
    expect(LATENCY_BOUNDS_MS[0]).toBe(0.1);
    expect(LATENCY_BOUNDS_MS.at(-1)).toBe(60_000);
    expect(LATENCY_BUCKET_COUNT).toBe(LATENCY_BOUNDS_MS.length + 1);
    expect(LATENCY_BUCKET_COUNT).toBeLessThanOrEqual(160);
    for (let i = 1; i < LATENCY_BOUNDS_MS.length; i++) {
      const ratio = (LATENCY_BOUNDS_MS[i] as number) / (LATENCY_BOUNDS_MS[i - 1] as number);
      expect(ratio, `${LATENCY_BOUNDS_MS[i - 1]} -> ${LATENCY_BOUNDS_MS[i]}`).toBeGreaterThan(1);
      expect(ratio, `${LATENCY_BOUNDS_MS[i - 1]} -> ${LATENCY_BOUNDS_MS[i]}`).toBeLessThanOrEqual(1.1);
    }
    for (const bound of PROMETHEUS_BOUNDS_MS) expect(LATENCY_BOUNDS_MS).toContain(bound);
  });

  it("a latency on a bound falls in that bound's bucket; beyond the last, in the unbounded one", () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(0.1)).toBe(0);
    expect(bucketIndex(0.1000001)).toBe(1);
    expect(LATENCY_BOUNDS_MS[bucketIndex(50)]).toBe(50);
    expect(LATENCY_BOUNDS_MS[bucketIndex(50.01)]).toBeGreaterThan(50);
    expect(bucketIndex(60_000)).toBe(LATENCY_BOUNDS_MS.length - 1);
    expect(bucketIndex(600_000)).toBe(LATENCY_BOUNDS_MS.length);
  });
});

describe('percentiles through Redis', () => {
  it('are within 10% or 1 ms of the exact ones for random latency sets, one hash and two merged', async () => {
    let now = Date.now();
    const ctx = await setup('pct', {}, { clock: () => now });
    t = ctx;
    const provider = 'mock';
    let run = 0;
    const report = async (latencies: readonly number[]) => {
      // Batches: the store drops reports beyond maxPendingReports in flight.
      for (let i = 0; i < latencies.length; i += 250) {
        await Promise.all(latencies.slice(i, i + 250).map((latencyMs) => ctx.store.report(failure(provider, 'success', { latencyMs }))));
      }
      await ctx.store.flush();
    };
    await fc.assert(
      fc.asyncProperty(latencySets, latencySets, async (first, second) => {
        // Two fresh days per run: the first set on one, the second on the next.
        const start = Date.parse(`${utcDate(Date.now())}T12:00:00Z`) + 2 * run * DAY_MS;
        run += 1;
        now = start;
        await report(first);
        now = start + DAY_MS;
        await report(second);

        const daily = await ctx.store.readDailyMetrics(2);
        expectSummary('first day', first, daily.daily[0]!.providers.find((p) => p.provider === provider)?.latency_ms);
        expectSummary('both days merged', [...first, ...second], daily.totals.find((p) => p.provider === provider)?.latency_ms);
        const minutes = await ctx.store.readMinuteSeries(1);
        const point = minutes.series.find((s) => s.provider === provider)?.points.at(-1);
        expectSummary('one minute', second, point?.latency_ms);
        // GET /metrics: the recent window holds the second set's minute.
        const counters = (await ctx.store.readCounters()).providers.find((p) => p.provider === provider);
        for (const [name, q] of QUANTILES) {
          expect(quantileError(second, q, counters?.latency_ms.recent[name] ?? null), `recent ${name} of ${second.length}`).toBeNull();
        }
      }),
      // Shrinking goes through Redis too: bounded, so a failure is reported with the smallest case
      // found by then rather than as a test timeout (a slow machine finishing fewer runs is no failure).
      { numRuns: 60, interruptAfterTimeLimit: 90_000 },
    );
  }, 180_000);

  it('three calls of about 1 ms answer about 1 ms, not the middle of a coarse bucket', async () => {
    t = await setup('pct3');
    for (const latencyMs of [0.82, 1.04, 1.31]) await t.store.report(failure('mock', 'success', { latencyMs }));
    await t.store.flush();
    const mock = (await t.store.readDailyMetrics(1)).totals.find((p) => p.provider === 'mock')!;
    expect(mock.latency_ms).toMatchObject({ count: 3, min: 0.82, max: 1.31 });
    expect(Math.abs(mock.latency_ms.p50! - 1.04)).toBeLessThanOrEqual(0.11);
    expect(Math.abs(mock.latency_ms.p95! - 1.31)).toBeLessThanOrEqual(0.14);
  });
});

describe('observed extremes', () => {
  it('concurrent writers on their own connections never lose the smallest or the largest latency', async () => {
    t = await setup('pctx', {}, { metricsFlushMs: 0 });
    const ctx = t;
    const stores = [
      ctx.store,
      ctx.makeStore({}, { metricsFlushMs: 0 }),
      ctx.makeStore({}, { metricsFlushMs: 0 }),
      ctx.makeStore({}, { metricsFlushMs: 0 }),
    ];
    // Each writer sends widening ranges, so every write moves an extreme and they race on it.
    const writes = stores.map((store, w) =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const latencyMs = i % 2 === 0 ? 500 - i * 4 - w : 500 + i * 4 + w;
          return store.report(failure('openai', 'success', { latencyMs }));
        }),
      ),
    );
    await Promise.all(writes);
    const all = stores.flatMap((_, w) => Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 500 - i * 4 - w : 500 + i * 4 + w)));
    const k = ctx.store.keys.provider('openai');
    for (const key of [k.metricsTotal, k.metricsDay(utcDate(Date.now()))]) {
      const hash = await ctx.redis.hmget(key, 'lat_min', 'lat_max', 'lat_count');
      // The day may have turned during the test; the lifetime hash holds them all.
      if (key !== k.metricsTotal && Number(hash[2]) !== all.length) continue;
      expect(hash).toEqual([String(Math.min(...all)), String(Math.max(...all)), String(all.length)]);
    }
  });
});

describe('data of the previous bucket layout', () => {
  it('gives no percentile of its own, does not skew new ones, and stays in the Prometheus counters', async () => {
    t = await setup('pctold');
    // Today's day hash is written by hand, then read back as today's: both in one day.
    await clearOfDayBoundary();
    const k = t.store.keys.provider('mock');
    // What the previous layout wrote for three calls of 1 ms: one bucket "0 to 50 ms".
    const legacy = { total: '3', success: '3', lat_sum: '3', lat_count: '3', 'lat_le:50': '3' };
    await t.redis.hset(k.metricsDay(utcDate(Date.now())), legacy);
    await t.redis.hset(k.metricsTotal, legacy);

    const before = (await t.store.readDailyMetrics(1)).totals.find((p) => p.provider === 'mock')!;
    expect(before.latency_ms).toEqual({ count: 3, avg: 1, p50: null, p95: null, p99: null, min: null, max: null });

    for (const latencyMs of [2, 2.2]) await t.store.report(failure('mock', 'success', { latencyMs }));
    await t.store.flush();
    const after = (await t.store.readDailyMetrics(1)).totals.find((p) => p.provider === 'mock')!;
    expect(after.latency_ms.count).toBe(5);
    expect(after.latency_ms.p50).toBeGreaterThanOrEqual(2);
    expect(after.latency_ms.p95).toBeLessThanOrEqual(2.2);

    const counters = (await t.store.readCounters()).providers.find((p) => p.provider === 'mock')!;
    const le = (bound: number | '+Inf') => counters.latency_ms.buckets.find((b) => b.le === bound)?.count;
    expect(counters.latency_ms.buckets.map((b) => b.le)).toEqual([...PROMETHEUS_BOUNDS_MS, '+Inf']);
    expect([le(1), le(2.5), le(25), le(50), le(60_000), le('+Inf')]).toEqual([0, 2, 2, 5, 5, 5]);
    expect(counters.latency_ms.count).toBe(5);
  });
});
