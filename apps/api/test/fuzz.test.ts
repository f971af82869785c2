/**
 * Property-based abuse of every route (fast-check): thousands of malformed bodies, headers, paths
 * and query strings through app.inject against the real app on a real Redis, with client keys and
 * provider-looking keys configured. For every answer: no 5xx, an error envelope whenever it is an
 * error, and no secret anywhere in the status line, headers or body; at the end, none in the logs
 * and the process still healthy. The seed is fixed (override with FC_SEED) so runs repeat.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyText, hostileBody, maybe, printable, ROUTES } from '../../../test/support/hostile-inputs.ts';
import { startTestApi, type TestApi } from './harness.ts';
import { type EchoWorker, startEchoWorker } from './support/echo-worker.ts';

const CLIENT_KEYS = ['fuzz-client-key-0001', 'fuzz-client-key-0002'];
const PROVIDER_KEYS = {
  OPENAI_API_KEY: 'sk-proj-Fz9QeX2bLm4Tn7Wc1Yr8Ku3Pd6Hs0Ga5',
  ANTHROPIC_API_KEY: 'sk-ant-api03-Qw8Er7Ty6Ui5Op4As3Df2Gh1JkLzXcVbNm',
  GEMINI_API_KEY: 'AIzaSyFz9QeX2bLm4Tn7Wc1Yr8Ku3Pd6Hs0Ga5Lp',
  OPENROUTER_API_KEY: `sk-or-v1-${'0123456789abcdef'.repeat(4)}`,
};
const SECRETS = [...CLIENT_KEYS, ...Object.values(PROVIDER_KEYS)];
/** Distinctive middles, to catch a secret that leaks in part. */
const FRAGMENTS = SECRETS.map((s) => s.slice(Math.floor(s.length / 3), Math.floor(s.length / 3) + 12));
const DEAD = 'http://127.0.0.1:9'; // probes are refused at once: no test ever reaches a vendor

let api: TestApi;
let worker: EchoWorker;

beforeAll(async () => {
  api = await startTestApi({
    API_KEYS: CLIENT_KEYS.join(','),
    ...PROVIDER_KEYS,
    OPENAI_BASE_URL: DEAD,
    ANTHROPIC_BASE_URL: DEAD,
    GEMINI_BASE_URL: DEAD,
    OPENROUTER_BASE_URL: DEAD,
    MOCK_PROVIDER: 'true',
    DEFAULT_MODEL: 'mock/echo',
    PROBE_TIMEOUT_MS: '200',
    RATE_LIMIT_RPM: '1000000',
    LOG_LEVEL: 'debug',
  });
  worker = await startEchoWorker({ REDIS_URL: api.redisUrl, SWITCHYARD_NAMESPACE: api.namespace, MOCK_PROVIDER: 'true' });
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
});

const segment = fc.oneof(
  fc.constantFrom('x', 'batch', 'events', '..', '.', '%', '%zz', '%00', '%2F', 'ñ', '🚀', '', ' ', '*', 'mock/echo', 'a'.repeat(300)),
  // BullMQ's own keys under the queue prefix: a job id must never reach them.
  fc.constantFrom(
    'meta',
    'id',
    'wait',
    'active',
    'completed',
    'failed',
    'delayed',
    'paused',
    'stalled',
    'limiter',
    'marker',
    'prioritized',
    'pc',
    'de',
    'repeat',
    'stalled-check',
  ),
  anyText.map((s) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return 'lone-surrogate';
    }
  }),
  // Raw characters a client may send; a backslash would make inject's own URL parser refuse the path.
  printable.map((s) => s.replace(/[?#\\]/g, '')),
);

const path = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), segment).map(([route, id]) => route.replace('{id}', id || 'x')) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), segment).map(([route, extra]) => `${route.replace('{id}', 'x')}/${extra}`) },
  { weight: 1, arbitrary: fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`) },
  { weight: 1, arbitrary: fc.constantFrom('//v1//jobs', '/v1/jobs/../metrics', '/V1/JOBS', '/v1/jobs/', `/${'v1/'.repeat(500)}`) },
);

const queryValue = fc.oneof(
  anyText,
  fc.constantFrom('-1', '0', '1', '7', '30', '31', '60000', '60001', '1e309', 'NaN', 'true', 'false', '[]'),
);
const query = fc.dictionary(
  fc.constantFrom('wait_ms', 'days', 'force_refresh', 'limit', 'stream', 'x', '__proto__', 'constructor'),
  queryValue,
  {
    maxKeys: 3,
  },
);

const authorization = fc.oneof(
  fc.constant(`Bearer ${CLIENT_KEYS[0]}`),
  fc.constant(`Bearer ${CLIENT_KEYS[1]}`),
  fc.constantFrom(...Object.values(PROVIDER_KEYS)).map((k) => `Bearer ${k}`),
  fc.constant(`bearer   ${CLIENT_KEYS[0]}  `),
  fc.constant(`Basic ${Buffer.from(`user:${CLIENT_KEYS[0]}`).toString('base64')}`),
  printable.map((s) => `Bearer ${s}`),
  printable,
  fc.constant(undefined),
);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/vnd.api+json',
  ),
  printable,
  fc.constant(undefined),
);

// No body at all one time in 11.
const body = fc.option(hostileBody, { nil: undefined, freq: 11 });

const anything = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'),
  path,
  query,
  authorization,
  contentType,
  idempotencyKey: maybe(fc.oneof(printable, fc.constant('k'.repeat(300)))),
  requestId: maybe(printable),
  body,
});

/** Past auth, content type and routing, so the bodies meet validation and the handlers. */
const aimedAtBodies = fc.record({
  method: fc.constant('POST'),
  path: fc.constantFrom('/v1/jobs', '/v1/jobs/batch', '/v1/chat/completions', '/v1/responses'),
  query: fc.constant({}),
  authorization: fc.constant(`Bearer ${CLIENT_KEYS[0]}`),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
  idempotencyKey: maybe(fc.oneof(printable, anyText)),
  requestId: fc.constant(undefined),
  body,
});

/** Past auth, at the read routes with odd ids and query strings. */
const aimedAtReads = fc.record({
  method: fc.constantFrom('GET', 'DELETE'),
  path: fc
    .tuple(fc.constantFrom(...ROUTES.filter((r) => !r.startsWith('/admin'))), segment)
    .map(([route, id]) => route.replace('{id}', id || 'x')),
  query,
  authorization: fc.constant(`Bearer ${CLIENT_KEYS[1]}`),
  contentType: fc.constant(undefined),
  idempotencyKey: fc.constant(undefined),
  requestId: fc.constant(undefined),
  body: fc.constant(undefined),
});

const request = fc.oneof(
  { weight: 4, arbitrary: aimedAtBodies },
  { weight: 2, arbitrary: aimedAtReads },
  { weight: 4, arbitrary: anything },
);

function leaks(text: string): string | undefined {
  return [...SECRETS, ...FRAGMENTS].find((secret) => text.includes(secret));
}

describe('malformed requests at every route', () => {
  it('never answer 5xx, always use the error envelope, never leak a secret', async () => {
    let count = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.authorization !== undefined) headers.authorization = r.authorization;
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.idempotencyKey !== undefined) headers['idempotency-key'] = r.idempotencyKey;
        if (r.requestId !== undefined) headers['x-request-id'] = r.requestId;
        const search = new URLSearchParams(r.query).toString();
        const url = `${r.path}${search ? `?${search}` : ''}`;
        const res = await api.app.inject({
          method: r.method as 'GET',
          url,
          headers,
          ...(r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD' ? { payload: r.body } : {}),
        });
        count++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const where = `${r.method} ${url} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
        const logged = res.statusCode >= 500 ? api.logLines.filter((l) => l.includes('"level":50')).at(-1) : '';
        expect(res.statusCode, `${where}\n${logged?.slice(0, 2000)}`).toBeLessThan(500);
        const leaked = leaks(`${res.statusCode} ${JSON.stringify(res.headers)} ${res.body}`);
        expect(leaked, where).toBeUndefined();
        // bull-board's own API answers its own errors in its own shape; everything else uses ours.
        const ours = !r.path.startsWith('/admin/queues/') || res.statusCode === 401;
        if (ours && res.statusCode >= 400 && r.method !== 'HEAD' && String(res.headers['content-type']).includes('json')) {
          const error = res.json().error;
          expect(typeof error?.type, where).toBe('string');
          expect(typeof error?.message, where).toBe('string');
          expect(error, where).toHaveProperty('param');
          expect(error, where).toHaveProperty('code');
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 2000), seed: Number(process.env.FC_SEED ?? 20261123), endOnFailure: true },
    );
    if (process.env.FC_VERBOSE)
      console.log(
        count,
        [...statuses.entries()].sort((a, b) => a[0] - b[0]),
      );
    expect(count).toBeGreaterThanOrEqual(1000);
    // The distribution is part of the evidence: most requests are rejected, some get through.
    expect([...statuses.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);

    const logs = api.logLines.join('\n');
    expect(leaks(logs)).toBeUndefined();
    expect((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
