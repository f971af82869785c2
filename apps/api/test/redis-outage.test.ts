/**
 * Redis stops and comes back, on a private redis-server of this test's own (the shared one on 6379
 * is never touched): /healthz keeps answering in under 10 ms, /readyz and every Redis-backed route
 * answer 503 in under a second, and everything recovers by itself once Redis is back on the same
 * port, including completions woken through the re-established subscription.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPrivateRedis, waitFor } from '@switchyard/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';
import { type EchoWorker, startEchoWorker } from './support/echo-worker.ts';

let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let api: TestApi;
let worker: EchoWorker;
const MISSING = '00000000-0000-4000-8000-000000000000';
const dataDir = mkdtempSync(path.join(tmpdir(), 'sy-api-outage-'));

beforeAll(async () => {
  redis = await startPrivateRedis({ dataDir, appendonly: false });
  api = await startTestApi({ REDIS_URL: redis.url, RATE_LIMIT_RPM: '1000' });
  worker = await startEchoWorker({ REDIS_URL: redis.url, SWITCHYARD_NAMESPACE: api.namespace });
});
afterAll(async () => {
  // If a check failed mid-outage, bring Redis back so everything can close cleanly.
  if (redis && (redis.process.exitCode !== null || redis.process.signalCode !== null))
    redis = await startPrivateRedis({ dataDir, port: redis.port, appendonly: false });
  await worker?.close();
  await api?.close();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const completion = (content: string, stream = false) =>
  api.app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    payload: { model: 'mock/echo', messages: [{ role: 'user', content }], stream },
  });

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

describe('with Redis stopped', () => {
  it('works before the outage', async () => {
    const res = await completion('before');
    expect(res.statusCode).toBe(200);
    expect(res.json().choices[0].message.content).toBe('before');
  });

  it('healthz stays fast; readiness and Redis-backed routes answer 503 fast; then it all recovers', async () => {
    await redis.stop();
    await waitFor(() => api.ctx.redis.status !== 'ready', 'the API to notice', 5000);

    // Judged on the median of 21 calls: one call can lose its time slice on a busy 2-core machine,
    // which says nothing about /healthz; a handler that did I/O against the dead Redis would fail every call.
    const healthMs: number[] = [];
    for (let i = 0; i < 21; i++) {
      const { value, ms } = await timed(() => api.app.inject({ method: 'GET', url: '/healthz' }));
      expect(value.statusCode).toBe(200);
      expect(ms).toBeLessThan(250);
      healthMs.push(ms);
    }
    healthMs.sort((a, b) => a - b);
    expect(healthMs[10]).toBeLessThan(10);

    const checks: Array<[string, () => Promise<{ statusCode: number; headers: Record<string, unknown>; json(): any }>]> = [
      ['readyz', () => api.app.inject({ method: 'GET', url: '/readyz' })],
      [
        'submit',
        () =>
          api.app.inject({
            method: 'POST',
            url: '/v1/jobs',
            headers: { 'content-type': 'application/json' },
            payload: { messages: [{ role: 'user', content: 'x' }] },
          }),
      ],
      [
        'batch',
        () =>
          api.app.inject({
            method: 'POST',
            url: '/v1/jobs/batch',
            headers: { 'content-type': 'application/json' },
            payload: { jobs: [{ messages: [{ role: 'user', content: 'x' }] }] },
          }),
      ],
      ['read', () => api.app.inject({ method: 'GET', url: `/v1/jobs/${MISSING}` })],
      ['long-poll', () => api.app.inject({ method: 'GET', url: `/v1/jobs/${MISSING}?wait_ms=5000` })],
      ['events', () => api.app.inject({ method: 'GET', url: `/v1/jobs/${MISSING}/events` })],
      ['cancel', () => api.app.inject({ method: 'DELETE', url: `/v1/jobs/${MISSING}` })],
      ['completion', () => completion('during')],
      ['streamed completion', () => completion('during', true)],
      ['status', () => api.app.inject({ method: 'GET', url: '/v1/providers/status' })],
      ['metrics', () => api.app.inject({ method: 'GET', url: '/v1/metrics?days=2' })],
      ['workers', () => api.app.inject({ method: 'GET', url: '/v1/workers' })],
    ];
    for (const [name, call] of checks) {
      const { value, ms } = await timed(call);
      expect(value.statusCode, name).toBe(503);
      expect(ms, name).toBeLessThan(1000);
      expect(value.headers['retry-after'], name).toBeDefined();
      expect(value.json().error.type, name).toBe('service_unavailable');
    }
    const prometheus = await timed(() => api.app.inject({ method: 'GET', url: '/metrics' }));
    expect(prometheus.value.statusCode).toBe(200);
    expect(prometheus.ms).toBeLessThan(1000);
    expect(prometheus.value.body).toContain('switchyard_fleet_scrape_success 0');

    // Back on the same port: nothing is restarted on the API side.
    redis = await startPrivateRedis({ dataDir, port: redis.port, appendonly: false });
    await waitFor(async () => (await api.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 'readyz to recover', 10_000);
    const submitted = await api.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'content-type': 'application/json' },
      payload: { messages: [{ role: 'user', content: 'after' }] },
    });
    expect(submitted.statusCode).toBe(202);
    // Completions are woken through the subscription again (not only by the periodic re-read).
    await waitFor(async () => (await completion('probe')).statusCode === 200, 'completions to recover', 15_000);
    const { value, ms } = await timed(() => completion('after the outage'));
    expect(value.statusCode).toBe(200);
    expect(value.json().choices[0].message.content).toBe('after the outage');
    expect(ms).toBeLessThan(2000);
    const streamed = await completion('streams again', true);
    expect(streamed.statusCode).toBe(200);
    expect(streamed.body).toContain('data: [DONE]');
    expect((await api.app.inject({ method: 'GET', url: '/metrics' })).body).toContain('switchyard_fleet_scrape_success 1');
  });
});
