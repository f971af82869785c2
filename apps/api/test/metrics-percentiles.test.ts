/**
 * Percentiles as a client and the dashboard see them, over real HTTP (DESIGN.md section 6): three
 * calls of about 1 ms, reported the way workers report them, read back from /v1/metrics, the
 * dashboard's chart series and GET /metrics. The coarse histogram of old answered p50 25 ms and
 * p95 47 ms here (the middle of a 0-50 ms bucket).
 */
import { clearOfDayBoundary } from '@switchyard/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ListeningTestApi, startListeningTestApi } from './harness.ts';
import { parsePrometheus, sampleValue } from './support/prom-parse.ts';

const KEY = 'percentiles-test-key-1';
const LATENCIES_MS = [0.94, 1.08, 1.21];
/** Nearest rank: the 2nd and the 3rd of three calls. */
const EXACT = { p50: 1.08, p95: 1.21 };

let api: ListeningTestApi;
/** The UTC day the calls were reported on: their day in /v1/metrics, even read past midnight. */
let reportedOn: string;
const get = (path: string) => fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });

beforeAll(async () => {
  api = await startListeningTestApi({ API_KEYS: KEY, MOCK_PROVIDER: 'true', DEFAULT_MODEL: 'mock/echo' });
  reportedOn = new Date(await clearOfDayBoundary()).toISOString().slice(0, 10);
  for (const latencyMs of LATENCIES_MS) await api.state.report({ provider: 'mock', model: 'echo', outcome: 'success', latencyMs });
  await api.state.flush(); // a worker flushes every 250 ms
});
afterAll(async () => {
  await api?.close();
});

describe('three mock/echo calls of about 1 ms', () => {
  it('/v1/metrics answers p50 and p95 within 1 ms of the exact ones, and the observed range', async () => {
    const res = await get('/v1/metrics?days=2');
    expect(res.status).toBe(200);
    type Latency = { p50: number; p95: number } & Record<string, number>;
    const body = (await res.json()) as {
      daily: Array<{ date: string; providers: Array<{ provider: string; latency_ms: Latency }> }>;
      totals: Array<{ latency_ms: Latency }>;
    };
    for (const latency of [
      body.daily.find((d) => d.date === reportedOn)?.providers.find((p) => p.provider === 'mock')?.latency_ms as Latency,
      body.totals[0]?.latency_ms as Latency,
    ]) {
      expect(latency).toMatchObject({ count: 3, min: 0.94, max: 1.21 });
      expect(Math.abs(latency.p50 - EXACT.p50)).toBeLessThanOrEqual(1);
      expect(Math.abs(latency.p95 - EXACT.p95)).toBeLessThanOrEqual(1);
      // Never outside what was observed.
      for (const name of ['p50', 'p95', 'p99']) {
        expect(latency[name]).toBeGreaterThanOrEqual(0.94);
        expect(latency[name]).toBeLessThanOrEqual(1.21);
      }
    }
  });

  it("the dashboard's latency chart shows the same", async () => {
    const res = await get('/dashboard/api/series');
    expect(res.status).toBe(200);
    type Series = { provider: string; p50: Array<number | null>; p95: Array<number | null> };
    const mock = ((await res.json()) as { providers: Series[] }).providers.find((p) => p.provider === 'mock') as Series;
    // The calls may straddle a minute boundary: the last two minutes hold them.
    const p50s = mock.p50.slice(-2).filter((v: number | null) => v !== null);
    const p95s = mock.p95.slice(-2).filter((v: number | null) => v !== null);
    expect(p50s.length).toBeGreaterThan(0);
    for (const v of [...p50s, ...p95s]) {
      expect(v).toBeGreaterThanOrEqual(0.94);
      expect(v).toBeLessThanOrEqual(1.21);
    }
  });

  it('GET /metrics puts them in the 1 ms and 2.5 ms buckets, not a 50 ms one, and has their recent percentiles', async () => {
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    const prom = parsePrometheus(await res.text());
    const bucket = (le: string) => sampleValue(prom, 'switchyard_provider_latency_seconds_bucket', { provider: 'mock', le });
    expect([bucket('0.0005'), bucket('0.001'), bucket('0.0025'), bucket('0.05'), bucket('+Inf')]).toEqual([0, 1, 3, 3, 3]);
    expect(sampleValue(prom, 'switchyard_provider_latency_seconds_count', { provider: 'mock' })).toBe(3);
    // The percentiles histogram_quantile() could not get right from those buckets, from the fine ones.
    expect(prom.get('switchyard_provider_latency_recent_seconds')?.type).toBe('gauge');
    const recent = (quantile: string) => sampleValue(prom, 'switchyard_provider_latency_recent_seconds', { provider: 'mock', quantile });
    expect(Math.abs(recent('0.5')! * 1000 - EXACT.p50)).toBeLessThanOrEqual(1);
    expect(Math.abs(recent('0.95')! * 1000 - EXACT.p95)).toBeLessThanOrEqual(1);
    expect(recent('0.99')! * 1000).toBeLessThanOrEqual(1.21);
  });
});
