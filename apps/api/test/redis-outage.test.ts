/**
 * Redis stops and comes back, on a private redis-server of this test's own (the shared one on 6379
 * is never touched): /healthz keeps answering at once, /readyz and every Redis-backed route answer
 * 503 at once, and everything recovers by itself once Redis is back on the same port, including
 * completions woken through the re-established subscription.
 *
 * "At once" is asserted in event-loop turns (settleInTurns), not milliseconds: two test files share
 * two cores with API, worker and Redis processes, so any call can lose its time slice for hundreds
 * of ms; but a handler that waited on the dead Redis (a 1 s command timeout, a reconnect, a 250 ms
 * PING deadline) takes hundreds of turns, where one that answers from memory or fails fast takes a
 * handful (1-8 measured).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { settleInTurns, startPrivateRedis, waitFor } from '@switchyard/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECHECK_MS } from '../src/jobs/job-service.ts';
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

/** Far above what answering from memory or failing fast takes; far below any wait on I/O. */
const MAX_TURNS = 40;

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
    await waitFor(() => api.ctx.redis.status !== 'ready', 'the API to notice', 15_000);

    for (let i = 0; i < 21; i++) {
      const { value, turns } = await settleInTurns(api.app.inject({ method: 'GET', url: '/healthz' }));
      expect(value.statusCode).toBe(200);
      expect(turns).toBeLessThanOrEqual(MAX_TURNS);
    }

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
      const { value, turns } = await settleInTurns(call());
      expect(value.statusCode, name).toBe(503);
      expect(turns, name).toBeLessThanOrEqual(MAX_TURNS);
      expect(value.headers['retry-after'], name).toBeDefined();
      expect(value.json().error.type, name).toBe('service_unavailable');
    }
    const prometheus = await settleInTurns(api.app.inject({ method: 'GET', url: '/metrics' }));
    expect(prometheus.value.statusCode).toBe(200);
    expect(prometheus.turns).toBeLessThanOrEqual(MAX_TURNS);
    expect(prometheus.value.body).toContain('switchyard_fleet_scrape_success 0');

    // Back on the same port: nothing is restarted on the API side.
    redis = await startPrivateRedis({ dataDir, port: redis.port, appendonly: false });
    await waitFor(async () => (await api.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 'readyz to recover', 10_000);
    // Ready means every connection is back, not only the one /readyz pings: a submission is taken at once.
    expect((await api.app.inject({ method: 'GET', url: '/readyz' })).json().checks).toEqual({ redis: 'up', queue: 'up', subscriber: 'up' });
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
    // Without the subscription only the read back every RECHECK_MS (5 s) would find the job.
    expect(ms).toBeLessThan(RECHECK_MS);
    const streamed = await completion('streams again', true);
    expect(streamed.statusCode).toBe(200);
    expect(streamed.body).toContain('data: [DONE]');
    expect((await api.app.inject({ method: 'GET', url: '/metrics' })).body).toContain('switchyard_fleet_scrape_success 1');
  });
});
