/**
 * Per-client rate limits counted in Redis (so two API replicas share one budget per client), in
 * the error envelope with retry-after and as the SDK's RateLimitError; health checks never limited.
 * The OpenAPI document generated from the routes' zod schemas, served at /docs.
 */
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';

const KEYS = ['limit-client-key-01', 'limit-client-key-02', 'limit-client-key-03', 'limit-client-key-04'];
let a: TestApi;
let b: TestApi; // a second replica on the same namespace

beforeAll(async () => {
  a = await startTestApi({ API_KEYS: KEYS.join(','), RATE_LIMIT_RPM: '3' });
  b = await startTestApi({ API_KEYS: KEYS.join(','), RATE_LIMIT_RPM: '3', SWITCHYARD_NAMESPACE: a.namespace });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const as = (api: TestApi, key: string, url = '/v1/models') =>
  api.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });

describe('rate limits', () => {
  it('are per client and fleet-wide: the 4th request in a minute is a 429 on whichever replica', async () => {
    expect((await as(a, KEYS[0] as string)).statusCode).toBe(200);
    expect((await as(b, KEYS[0] as string)).statusCode).toBe(200);
    const third = await as(a, KEYS[0] as string);
    expect(third.statusCode).toBe(200);
    expect(third.headers['x-ratelimit-remaining']).toBe('0');
    const over = await as(b, KEYS[0] as string);
    expect(over.statusCode).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(over.json().error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null });
    // Another client has a budget of its own.
    expect((await as(a, KEYS[1] as string)).statusCode).toBe(200);
  });

  it('answer on bull-board’s routes in the same envelope, with retry-after', async () => {
    const key = KEYS[3] as string;
    for (let i = 0; i < 3; i++) expect((await as(a, key, '/admin/queues/api/queues')).statusCode).toBe(200);
    const over = await as(a, key, '/admin/queues/api/queues');
    expect(over.statusCode).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(over.json().error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null });
  });

  it('never apply to /healthz and /readyz', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await a.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await a.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    }
  });

  it('reach the official SDK as RateLimitError', async () => {
    const address = await a.app.listen({ host: '127.0.0.1', port: 0 });
    const client = new OpenAI({ apiKey: KEYS[2], baseURL: `${address}/v1`, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await client.models.list();
    const err = await client.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).headers?.get('retry-after')).toBeTruthy();
  });
});

describe('OpenAPI document', () => {
  it('is generated from the zod schemas and served at /docs', async () => {
    const res = await a.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/v1/jobs',
      '/v1/jobs/batch',
      '/v1/jobs/{id}',
      '/v1/jobs/{id}/events',
      '/v1/chat/completions',
      '/v1/responses',
      '/v1/responses/{id}',
      '/v1/responses/{id}/input_items',
      '/v1/responses/{id}/cancel',
      '/v1/models',
      '/v1/providers/status',
      '/v1/metrics',
      '/v1/workers',
      '/metrics',
      '/healthz',
      '/readyz',
    ]) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
    const submit = doc.paths['/v1/jobs'].post;
    const body = submit.requestBody.content['application/json'].schema;
    expect(body.required).toContain('messages');
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['model', 'messages', 'fallbacks', 'budget_ms', 'priority']));
    expect(doc.paths['/v1/jobs/{id}'].delete).toBeDefined();
    expect(doc.paths['/v1/responses/{id}/cancel'].post).toBeDefined();
    expect(doc.paths['/v1/responses/{id}/input_items'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['limit', 'order', 'after']),
    );
    expect(doc.paths['/v1/metrics'].get.parameters.map((p: { name: string }) => p.name)).toContain('days');
    expect(doc.components.securitySchemes.bearer.scheme).toBe('bearer');
    const ui = await a.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(ui.statusCode);
  });
});
