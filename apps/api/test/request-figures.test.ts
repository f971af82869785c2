/**
 * The API's HTTP figures on GET /metrics (src/request-figures.ts): counted per route template and
 * status, a 404 as `unmatched`, once per request, and written in the Prometheus text format prom-client
 * writes its own counters and histograms in (checked by the strict parser of the fleet test).
 */
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import requestFigures from '../src/request-figures.ts';
import { type Family, parsePrometheus, sampleValue } from './support/prom-parse.ts';

describe('request figures', () => {
  const app = Fastify();
  let prom: Map<string, Family>;

  beforeAll(async () => {
    await app.register(requestFigures);
    app.get('/v1/things/:id', async () => ({ ok: true }));
    app.post('/v1/things', async (_request, reply) => reply.code(202).send({ ok: true }));
    for (const url of ['/v1/things/a', '/v1/things/b', '/v1/things/c']) await app.inject(url);
    await app.inject({ method: 'POST', url: '/v1/things', payload: {} });
    await app.inject({ method: 'POST', url: '/v1/things', payload: 'not json', headers: { 'content-type': 'application/json' } });
    await app.inject('/nowhere');
    await app.inject({ method: 'HEAD', url: '/v1/things/a' });
    const registry = new Registry();
    app.requestFigures.register(registry);
    prom = parsePrometheus(await registry.metrics());
  });
  afterAll(() => app.close());

  it('counts by method, route template and status, a 404 as unmatched, each request once', () => {
    const count = (labels: Record<string, string>) => sampleValue(prom, 'switchyard_api_http_requests_total', labels);
    expect(prom.get('switchyard_api_http_requests_total')?.type).toBe('counter');
    expect(count({ method: 'GET', route: '/v1/things/:id', status_code: '200' })).toBe(3);
    expect(count({ method: 'HEAD', route: '/v1/things/:id', status_code: '200' })).toBe(1);
    expect(count({ method: 'POST', route: '/v1/things', status_code: '202' })).toBe(1);
    expect(count({ method: 'POST', route: '/v1/things', status_code: '400' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
  });

  it('times them in a cumulative histogram per method and route template', () => {
    const duration = 'switchyard_api_http_request_duration_seconds';
    expect(prom.get(duration)?.type).toBe('histogram');
    const labels = { method: 'GET', route: '/v1/things/:id' };
    expect(sampleValue(prom, `${duration}_count`, labels)).toBe(3);
    expect(sampleValue(prom, `${duration}_bucket`, { ...labels, le: '+Inf' })).toBe(3);
    expect(sampleValue(prom, `${duration}_bucket`, { ...labels, le: '60' })).toBe(3);
    expect(sampleValue(prom, `${duration}_sum`, labels)).toBeGreaterThan(0);
    expect(sampleValue(prom, `${duration}_count`, { method: 'POST', route: '/v1/things' })).toBe(2);
  });
});
