/**
 * Percentiles of real calls (DESIGN.md section 6), on real processes: the API and a worker on the
 * real Redis, three `mock/echo` jobs of about 1 ms, and what /v1/metrics and the dashboard's chart
 * then say. The coarse histogram of old answered p50 25 ms and p95 47 ms for these (the middle of a
 * 0-50 ms bucket). Each call's latency is read from its job's own result (`attempts[].latency_ms`,
 * the figure the worker reports to the metrics), so the exact percentiles are known whatever the
 * machine's speed.
 */
import type { JobView } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, postJson, startFleet } from '../support/processes.ts';

const namespace = testNamespace('pctl');
let fleet: Fleet;
/** The three calls' latencies (ms), ascending. */
let latencies: number[];

/** Within 10% or 1 ms of `exact`, whichever is larger. */
const near = (value: number, exact: number) => Math.abs(value - exact) <= Math.max(0.1 * exact, 1);

beforeAll(async () => {
  fleet = await startFleet({ namespace, workers: 1, env: { MOCK_PROVIDER: 'true', RATE_LIMIT_RPM: '0' } });
  latencies = [];
  for (const content of ['one', 'two', 'three']) {
    const submitted = await postJson(`${fleet.apiUrl}/v1/jobs`, { model: 'mock/echo', messages: [{ role: 'user', content }] });
    expect(submitted.status).toBe(202);
    const view = (await (await fetch(`${fleet.apiUrl}/v1/jobs/${submitted.body.id}?wait_ms=30000`)).json()) as JobView;
    expect(view.status).toBe('completed');
    expect(view.result?.attempts).toHaveLength(1);
    latencies.push(view.result?.attempts[0]?.latency_ms as number);
  }
  latencies.sort((a, b) => a - b);
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
  await deleteNamespace(testRedisUrl(), namespace);
});

describe('three mock/echo calls through a worker', () => {
  it('/v1/metrics answers p50 and p95 within 10% or 1 ms of the exact ones, inside the observed range', async () => {
    // Nearest rank: the 2nd and the 3rd of three calls. Workers write their figures every 250 ms.
    // Two days: read past midnight UTC, the calls are yesterday's (the namespace is this file's own).
    const [min, p50, p95] = latencies as [number, number, number];
    type Latency = { count: number; p50: number; p95: number; p99: number; min: number; max: number };
    let latency: Latency | undefined;
    const deadline = Date.now() + 10_000;
    while (latency?.count !== 3 && Date.now() < deadline) {
      const body = (await (await fetch(`${fleet.apiUrl}/v1/metrics?days=2`)).json()) as {
        totals: Array<{ provider: string; latency_ms: Latency }>;
      };
      latency = body.totals.find((p) => p.provider === 'mock')?.latency_ms;
      if (latency?.count !== 3) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(latency).toMatchObject({ count: 3, min, max: p95 });
    expect(near(latency!.p50, p50), `p50 ${latency!.p50} for calls of ${latencies} ms`).toBe(true);
    expect(near(latency!.p95, p95), `p95 ${latency!.p95} for calls of ${latencies} ms`).toBe(true);
    for (const q of [latency!.p50, latency!.p95, latency!.p99]) {
      expect(q).toBeGreaterThanOrEqual(min);
      expect(q).toBeLessThanOrEqual(p95);
    }
  });

  it("the dashboard's latency chart shows percentiles inside the observed range", async () => {
    type Series = { provider: string; p50: Array<number | null>; p95: Array<number | null> };
    const body = (await (await fetch(`${fleet.apiUrl}/dashboard/api/series`)).json()) as { providers: Series[] };
    const mock = body.providers.find((p) => p.provider === 'mock') as Series;
    // The calls may straddle a minute boundary: the last two minutes hold them.
    const shown = [...mock.p50.slice(-2), ...mock.p95.slice(-2)].filter((v): v is number => v !== null);
    expect(shown.length).toBeGreaterThan(0);
    for (const v of shown) {
      expect(v).toBeGreaterThanOrEqual(latencies[0] as number);
      expect(v).toBeLessThanOrEqual(latencies[2] as number);
    }
  });
});
