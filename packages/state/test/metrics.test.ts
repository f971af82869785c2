import { clearOfMinuteBoundary } from '@switchyard/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { countersToPrometheus, epochMinute, utcDate } from '../src/index.ts';
import { failure, setup, type TestContext } from './helpers.ts';

let t: TestContext;
afterEach(async () => {
  await t?.cleanup();
});

describe('metrics', () => {
  it('daily and per-minute hashes hold what was reported, with their expiry', async () => {
    t = await setup('mx');
    const { store, redis } = t;
    // The checks below read "today" and "this minute" by the clock: all of it in one minute.
    await clearOfMinuteBoundary(10_000);
    const outcomes = [
      ['success', 120],
      ['success', 80],
      ['success', 400],
      ['timeout', 20_000],
      ['aborted', 900],
      ['rate_limited', 5],
    ] as const;
    for (const [outcome, latencyMs] of outcomes) await store.report(failure('openai', outcome, { latencyMs, retryAfterMs: 100 }));
    await store.report(failure('mock', 'success', { latencyMs: 3 }));
    await store.flush();

    const now = Date.now();
    const k = store.keys.provider('openai');
    const dayKey = k.metricsDay(utcDate(now));
    expect(await redis.hgetall(dayKey)).toMatchObject({
      total: '6',
      success: '3',
      'fail:timeout': '1',
      'fail:aborted': '1',
      'fail:rate_limited': '1',
      lat_sum: '600',
      lat_count: '3',
      'lat_log:84.3': '1', // (77.4, 84.3]
      'lat_log:130': '1', // (119, 130]
      'lat_log:422': '1', // (387, 422]
      lat_min: '80',
      lat_max: '400',
    });
    const dayTtl = await redis.ttl(dayKey);
    expect(dayTtl).toBeGreaterThan(30 * 86_400);
    expect(dayTtl).toBeLessThanOrEqual(31 * 86_400);
    const minuteTtl = await redis.pttl(k.metricsMinute(epochMinute(now)));
    expect(minuteTtl).toBeGreaterThan(6 * 3_600_000 - 5_000);
    expect(minuteTtl).toBeLessThanOrEqual(6 * 3_600_000 + 60_000);
    expect(await redis.ttl(k.metricsTotal)).toBe(-1); // lifetime counters: monotonic, bounded size

    const daily = await store.readDailyMetrics(7);
    expect(daily.days).toBe(7);
    expect(daily.daily).toHaveLength(7);
    expect(daily.to).toBe(utcDate(now));
    const today = daily.daily[6]!.providers.find((p) => p.provider === 'openai');
    expect(today).toEqual({
      deployment: 'openai',
      provider: 'openai',
      total: 6,
      success: 3,
      failed: 3,
      failures: { timeout: 1, aborted: 1, rate_limited: 1 },
      latency_ms: { count: 3, avg: 200, p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number), min: 80, max: 400 },
    });
    // Nearest rank: the 2nd and the 3rd of 80, 120, 400; within the bucket, never past the slowest call.
    expect(Math.abs(today!.latency_ms.p50! - 120)).toBeLessThanOrEqual(12);
    expect(today!.latency_ms.p95!).toBeGreaterThanOrEqual(387);
    expect(today!.latency_ms.p95!).toBeLessThanOrEqual(400);
    expect(today!.latency_ms.p99!).toBeLessThanOrEqual(400);
    expect(daily.daily[0]!.providers.find((p) => p.provider === 'openai')!.total).toBe(0);
    expect(daily.totals.find((p) => p.provider === 'mock')).toMatchObject({ total: 1, success: 1 });

    const series = await store.readMinuteSeries(5);
    expect(series.series.find((s) => s.provider === 'openai')!.points).toHaveLength(5);
    const lastPoint = series.series.find((s) => s.provider === 'openai')!.points.at(-1)!;
    expect(lastPoint.t).toBe(epochMinute(now) * 60_000);
    expect(lastPoint.total).toBe(6);

    const counters = await store.readCounters();
    const openai = counters.providers.find((p) => p.provider === 'openai')!;
    expect(openai).toMatchObject({ calls_total: 6, success_total: 3, state: 'rate_limited', circuit: { state: 'closed' } });
    expect(openai.latency_ms.buckets.at(-1)).toEqual({ le: '+Inf', count: 3 });
    const text = countersToPrometheus(counters);
    expect(text).toContain('switchyard_provider_calls_total{deployment="openai",provider="openai",outcome="success"} 3');
    expect(text).toContain('switchyard_provider_latency_seconds_bucket{deployment="openai",provider="openai",le="+Inf"} 3');
    // Fine buckets reach GET /metrics as the coarse `le` set: 80 and 120 ms at or under 250 ms, 400 ms over it.
    expect(text).toContain('switchyard_provider_latency_seconds_bucket{deployment="openai",provider="openai",le="0.25"} 2');
    expect(text).toContain('switchyard_circuit_state{deployment="openai",provider="openai",state="closed"} 1');
  });

  it('clamps the day range to the 30 kept', async () => {
    t = await setup('mx2');
    expect((await t.store.readDailyMetrics(365)).daily).toHaveLength(30);
    expect((await t.store.readDailyMetrics(0)).daily).toHaveLength(1);
  });
});
