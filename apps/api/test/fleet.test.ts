/**
 * The fleet routes on a real Redis, fed the way workers feed them (state.report, heartbeats):
 * provider status (cache-first, force_refresh single-flight, circuit details), daily metrics,
 * live workers, and GET /metrics parsed by a strict Prometheus text parser, its counters equal to
 * /v1/metrics.
 */
import { clearOfDayBoundary } from '@switchyard/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';
import { type Family, parsePrometheus, sampleValue } from './support/prom-parse.ts';

const KEY = 'fleet-test-key-0001';
const OPENAI_KEY = 'sk-proj-FleetTestQeX2bLm4Tn7Wc1Yr8Ku3';
const auth = { authorization: `Bearer ${KEY}` };
let api: TestApi;
let probes = 0;
let probeDelayMs = 0;

beforeAll(async () => {
  api = await startTestApi(
    {
      API_KEYS: KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: 'http://127.0.0.1:9',
      MOCK_PROVIDER: 'true',
      DEFAULT_MODEL: 'mock/echo',
      CIRCUIT_FAILURE_THRESHOLD: '3',
      RATE_LIMIT_RPM: '0',
    },
    {
      prober: async () => {
        probes++;
        await new Promise((r) => setTimeout(r, probeDelayMs));
        return { state: 'active', latencyMs: 3 };
      },
    },
  );
});
afterAll(async () => {
  await api?.close();
});

const get = (url: string) => api.app.inject({ method: 'GET', url, headers: auth });

describe('GET /v1/providers/status', () => {
  it('probes when nothing is cached, then serves the cache; force_refresh probes once however many ask', async () => {
    const first = await get('/v1/providers/status');
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body.providers.map((p: { provider: string }) => p.provider)).toEqual(['openai', 'mock']);
    expect(body.cache_hit).toBe(false);
    expect(probes).toBe(2);
    for (const p of body.providers) {
      expect(p).toMatchObject({
        state: 'active',
        cache_hit: false,
        circuit: { state: 'closed', consecutive_failures: 0, opened_at: null },
      });
      expect(Date.parse(p.checked_at)).toBeGreaterThan(Date.now() - 60_000);
    }

    const second = (await get('/v1/providers/status')).json();
    expect(second.cache_hit).toBe(true);
    expect(probes).toBe(2);

    probeDelayMs = 100;
    const forced = await Promise.all(Array.from({ length: 50 }, () => get('/v1/providers/status?force_refresh=true')));
    probeDelayMs = 0;
    expect(forced.every((r) => r.statusCode === 200)).toBe(true);
    expect(probes).toBe(4); // one per provider for all 50 requests
    expect(forced[0]?.json().cache_hit).toBe(false);
  });

  it('shows an open circuit with its times and last error, and does not probe it', async () => {
    for (let i = 0; i < 3; i++) {
      await api.ctx.state.report({
        provider: 'openai',
        model: 'gpt-4o-mini',
        outcome: 'service_unavailable',
        latencyMs: 20,
        message: 'upstream 503',
      });
    }
    const before = probes;
    const openai = (await get('/v1/providers/status?force_refresh=true')).json().providers[0];
    expect(openai.circuit.state).toBe('open');
    expect(openai.circuit.consecutive_failures).toBe(3);
    expect(Date.parse(openai.circuit.opened_at)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(openai.circuit.next_probe_at)).toBeGreaterThan(Date.now());
    expect(openai.last_error).toMatchObject({ class: 'service_unavailable' });
    expect(openai.state).toBe('service_unavailable');
    expect(probes - before).toBe(1); // only mock's closed circuit was probed
  });

  it('rejects a malformed force_refresh with a 400', async () => {
    expect((await get('/v1/providers/status?force_refresh=yesplease')).statusCode).toBe(400);
  });
});

describe('GET /v1/workers', () => {
  it('lists live workers with their heartbeat times', async () => {
    const started = Date.now() - 5_000;
    await api.ctx.state.heartbeat({ id: 'w-1', host: 'node-a', pid: 4242, concurrency: 16, active_jobs: 3, started_at: started });
    const body = (await get('/v1/workers')).json();
    expect(body.count).toBe(1);
    expect(body.workers[0]).toMatchObject({ id: 'w-1', host: 'node-a', pid: 4242, concurrency: 16, active_jobs: 3 });
    expect(Date.parse(body.workers[0].started_at)).toBe(started);
    expect(Date.parse(body.workers[0].last_heartbeat_at)).toBeGreaterThan(started);
  });
});

describe('GET /v1/metrics and GET /metrics', () => {
  let prom: Map<string, Family>;
  let text: string;
  /** The UTC day the calls below were reported on: its day in /v1/metrics, even read past midnight. */
  let reportedOn: string;

  beforeAll(async () => {
    reportedOn = new Date(await clearOfDayBoundary()).toISOString().slice(0, 10);
    const outcomes: Array<[string, number]> = [
      ['success', 40],
      ['success', 120],
      ['success', 900],
      ['success', 3000],
      ['rate_limited', 10],
      ['rate_limited', 12],
      ['timeout', 20_000],
      ['aborted', 5],
    ];
    for (const [outcome, latencyMs] of outcomes) {
      await api.ctx.state.report({ provider: 'mock', model: 'echo', outcome: outcome as 'success', latencyMs });
    }
    await api.ctx.state.flush(); // metrics are added up in the process; a worker flushes every 250 ms
    await get('/healthz');
    const res = await get('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    text = res.body;
    prom = parsePrometheus(text);
  });

  it('parses strictly and carries process and fleet figures', () => {
    expect(prom.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(prom.get('switchyard_api_http_requests_total')?.type).toBe('counter');
    expect(sampleValue(prom, 'switchyard_api_http_requests_total', { route: '/healthz', status_code: '200' })).toBeGreaterThanOrEqual(1);
    expect(prom.get('switchyard_provider_latency_seconds')?.type).toBe('histogram');
    expect(sampleValue(prom, 'switchyard_fleet_scrape_success')).toBe(1);
    expect(sampleValue(prom, 'switchyard_workers_live')).toBe(1);
    expect(sampleValue(prom, 'switchyard_queue_jobs', { state: 'waiting' })).toBe(0);
    expect(sampleValue(prom, 'switchyard_circuit_state', { provider: 'openai', state: 'open' })).toBe(1);
  });

  it('its counters equal /v1/metrics', async () => {
    const daily = (await get('/v1/metrics?days=30')).json();
    expect(daily.days).toBe(30);
    const mock = daily.totals.find((p: { provider: string }) => p.provider === 'mock');
    expect(mock).toMatchObject({ total: 8, success: 4, failed: 4, failures: { rate_limited: 2, timeout: 1, aborted: 1 } });
    for (const provider of daily.totals as Array<{ provider: string; total: number; success: number; failures: Record<string, number> }>) {
      const labels = { provider: provider.provider };
      expect(sampleValue(prom, 'switchyard_provider_calls_total', { ...labels, outcome: 'success' }), provider.provider).toBe(
        provider.success,
      );
      for (const [cls, n] of Object.entries(provider.failures)) {
        expect(sampleValue(prom, 'switchyard_provider_calls_total', { ...labels, outcome: cls }), `${provider.provider} ${cls}`).toBe(n);
      }
      const all = prom.get('switchyard_provider_calls_total')?.samples.filter((s) => s.labels.provider === provider.provider) ?? [];
      expect(all.reduce((sum, s) => sum + s.value, 0)).toBe(provider.total);
    }
    expect(sampleValue(prom, 'switchyard_provider_latency_seconds_count', { provider: 'mock' })).toBe(mock.latency_ms.count);
    expect(sampleValue(prom, 'switchyard_provider_latency_seconds_bucket', { provider: 'mock', le: '0.1' })).toBe(1);
    const today = daily.daily.find((d: { date: string }) => d.date === reportedOn);
    expect(today.providers.find((p: { provider: string }) => p.provider === 'mock').total).toBe(8);
  });

  it('never carries a secret, and days outside 1..30 are a 400', async () => {
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(OPENAI_KEY);
    expect((await get('/v1/metrics?days=0')).statusCode).toBe(400);
    expect((await get('/v1/metrics?days=31')).statusCode).toBe(400);
    expect((await get('/v1/metrics')).json().days).toBe(7);
  });

  it('needs the key like the rest of the API', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
  });
});
