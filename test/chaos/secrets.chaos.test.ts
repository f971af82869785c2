/**
 * Secrets: the fleet runs at LOG_LEVEL=debug (its most talkative) with all four provider keys and two
 * client keys, and everything is done to make a key escape: providers that echo the presented key
 * back in every error body, header and half-written answer (a hostile upstream; the real OpenAI
 * echoes a masked one), health probes against them, every route read afterwards (job views, SSE,
 * long-polls, the OpenAI facade streaming and not, status with last errors, metrics, the dashboard's
 * data), and clients that misplace their key (no Bearer, a query string, other headers) or present
 * a provider key or a near miss. An operator key (ADMIN_API_KEYS) reads everything an operator may
 * (every client's jobs and their events, the dashboard's data, bull-board and its session, /metrics,
 * /v1/config), client keys are refused there, and the operator key is misplaced the same ways. Then every log
 * line, every response and every value in Redis is scanned for each key and its unique tail. (Every other chaos file runs the same scan over its own
 * logs, responses and Redis: the report sums them up for the whole suite.)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type MockServer, startMockServer } from '@switchyard/providers/mock-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster } from './support/cluster.ts';
import { call, mapLimit, sleep } from './support/http.ts';
import { scanRedisForSecrets } from './support/redis.ts';
import { ChaosReport, progress } from './support/report.ts';
import { CLIENT_KEY, CLIENT_KEYS, OPERATOR_KEY, OPERATOR_KEYS, PROVIDER_KEYS, scanner } from './support/secrets.ts';

const report = new ChaosReport('secrets', 'Secrets: no key in any log line, response or Redis value', 5, 2);
let mock: MockServer;
let evil: Server;
let evilUrl = '';
let cluster: ChaosCluster;
const keysSeen = new Set<string>();
let evilAnswers = 0;

/** A provider that puts the key it was given into everything it answers. */
function evilProvider(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://evil.local');
  const presented =
    /^Bearer\s+(\S+)/i.exec(String(req.headers.authorization ?? ''))?.[1] ??
    String(req.headers['x-api-key'] ?? req.headers['x-goog-api-key'] ?? url.searchParams.get('key') ?? 'none');
  keysSeen.add(presented);
  req.resume();
  req.on('end', () => {
    evilAnswers += 1;
    const echo = `key ${presented} from headers ${JSON.stringify(req.headers)}`;
    const body = (status: number, type: string) =>
      JSON.stringify({
        type: 'error',
        error: { type, code: status, status: type.toUpperCase(), message: `Invalid API key provided: ${echo}` },
      });
    const send = (status: number, type: string, headers: Record<string, string> = {}) => {
      const text = body(status, type);
      res.writeHead(status, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="evil", key="${presented}"`,
        'x-echo-key': presented,
        ...headers,
      });
      res.end(text);
    };
    const kind = evilAnswers % 7;
    if (url.pathname.endsWith('/models') || url.pathname.endsWith('/key') || url.pathname.endsWith('/credits'))
      return send(401, 'authentication_error');
    switch (kind) {
      case 0:
        return send(401, 'authentication_error');
      case 1:
        return send(500, 'api_error');
      case 2:
        return send(429, 'rate_limit_error', { 'retry-after': '0' });
      case 3:
        return send(400, 'invalid_request_error');
      case 4:
        return send(403, 'permission_error');
      case 5: {
        // 200 whose body is not what the wire format promises, the key inside.
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(`{"oops": "${presented}", "echo": ${JSON.stringify(echo)}`);
      }
      default: {
        // Half an answer, then the connection is cut.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`{"id":"x","content":[{"type":"text","text":"${presented}`);
        setTimeout(() => res.socket?.destroy(), 5);
      }
    }
  });
}

beforeAll(async () => {
  mock = await startMockServer();
  // OpenAI through the mock: its real wire, with its real 401 (which echoes a masked key), a 500 and successes.
  mock.setFaults([
    { provider: 'openai', endpoint: 'chat', fault: 'error=auth', probability: 0.4 },
    { provider: 'openai', endpoint: 'chat', fault: 'status=500', probability: 0.3 },
  ]);
  evil = createServer(evilProvider);
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', () => resolve()));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  cluster = await ChaosCluster.start({
    name: 'secrets',
    workers: 1,
    env: {
      ...PROVIDER_KEYS,
      ADMIN_API_KEYS: OPERATOR_KEYS.join(','),
      OPENAI_BASE_URL: mock.baseUrls.openai,
      ANTHROPIC_BASE_URL: evilUrl,
      GEMINI_BASE_URL: evilUrl,
      OPENROUTER_BASE_URL: `${evilUrl}/api/v1`,
      DEFAULT_MODEL: 'openai/gpt-4o-mini',
      LOG_LEVEL: 'debug',
      RATE_LIMIT_RPM: '100000',
      // Keep every provider callable: the point is many calls that fail with the key in their answers.
      CIRCUIT_FAILURE_THRESHOLD: '10000',
      JOB_ATTEMPTS: '1',
      HEDGE_DELAY_MS: '100',
      PROBE_TIMEOUT_MS: '1000',
    },
  });
  progress('cluster up: api + 1 worker at LOG_LEVEL=debug');
});

afterAll(async () => {
  try {
    await cluster?.stop();
    await mock?.close();
    evil?.closeAllConnections();
    await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
  } finally {
    // Whatever happened above, this file's section of bench/results/chaos.md is written.
    report.write();
  }
});

const MODELS = [
  'openai/gpt-4o-mini',
  'anthropic/claude-sonnet-4-5',
  'gemini/gemini-2.5-flash',
  'openrouter/meta-llama/llama-3.1-8b-instruct',
];

describe('secrets', () => {
  it('every kind of traffic, every route, hostile upstreams echoing keys', async () => {
    const before = scanner.totals.responses;
    // Jobs with every provider first and the others as fallbacks.
    const ids = (
      await mapLimit(
        Array.from({ length: 80 }, (_, i) => i),
        8,
        async (i) => {
          const model = MODELS[i % MODELS.length]!;
          const answer = await call(cluster.apiUrl, '/v1/jobs', {
            body: {
              model,
              fallbacks: MODELS.filter((m) => m !== model).slice(0, 2),
              messages: [{ role: 'user', content: `secret test ${i}` }],
              budget_ms: 5000,
            },
          });
          return answer.status === 202 ? (answer.json().id as string) : null;
        },
      )
    ).filter((id): id is string => id !== null);
    // Read them every way a client can.
    const views = await mapLimit(ids, 8, async (id) => (await call(cluster.apiUrl, `/v1/jobs/${id}?wait_ms=15000`)).json());
    await mapLimit(ids.slice(0, 10), 5, (id) => call(cluster.apiUrl, `/v1/jobs/${id}/events`, { timeoutMs: 3000 }));
    // The OpenAI facade, plain and streamed, at each provider.
    for (const model of MODELS) {
      for (const stream of [false, true]) {
        await call(cluster.apiUrl, '/v1/chat/completions', {
          body: { model, stream, messages: [{ role: 'user', content: 'hello' }] },
          timeoutMs: 20_000,
        });
      }
    }
    // Health probes against the hostile upstreams, then everything that reports on them.
    await call(cluster.apiUrl, '/v1/providers/status?force_refresh=true', { timeoutMs: 15_000 });
    await sleep(500);
    const status = await call(cluster.apiUrl, '/v1/providers/status');
    for (const path of ['/v1/metrics?days=2', '/v1/workers', '/v1/models', '/docs/json', '/readyz', '/healthz']) {
      await call(cluster.apiUrl, path);
    }
    // What only an operator sees: a client key is refused (403), the operator key reads it all.
    const operator = { authorization: `Bearer ${OPERATOR_KEY}` };
    const operatorPaths = [
      '/metrics',
      '/v1/config',
      '/dashboard/api/snapshot',
      '/dashboard/api/series',
      '/admin/queues',
      '/admin/queues/api/queues',
    ];
    const refusedToClient: number[] = [];
    for (const path of operatorPaths) {
      refusedToClient.push((await call(cluster.apiUrl, path)).status);
      await call(cluster.apiUrl, path, { headers: operator });
    }
    await call(cluster.apiUrl, '/dashboard/api/stream', { timeoutMs: 1500, headers: operator });
    const session = await call(cluster.apiUrl, '/dashboard/api/session', { method: 'POST', headers: operator });
    const cookie = (session.headers['set-cookie'] ?? '').split(';')[0] ?? '';
    await call(cluster.apiUrl, '/admin/queues/api/queues', { auth: false, headers: { cookie } });
    // Every client's jobs, read and followed by the operator.
    await mapLimit(ids.slice(0, 20), 5, (id) => call(cluster.apiUrl, `/v1/jobs/${id}`, { headers: operator }));
    await mapLimit(ids.slice(20, 25), 5, (id) => call(cluster.apiUrl, `/v1/jobs/${id}/events`, { headers: operator, timeoutMs: 3000 }));
    // Clients that misplace or mistake keys: never echoed, never logged.
    const misplaced: Array<{ headers: Record<string, string>; auth: boolean }> = [
      { headers: { authorization: CLIENT_KEY }, auth: false },
      { headers: { authorization: `Bearer ${CLIENT_KEY}x` }, auth: false },
      { headers: { authorization: `Bearer ${CLIENT_KEY.slice(0, -1)}` }, auth: false },
      { headers: { authorization: `Bearer ${PROVIDER_KEYS.OPENAI_API_KEY}` }, auth: false },
      { headers: { authorization: `Bearer ${PROVIDER_KEYS.OPENROUTER_API_KEY}` }, auth: false },
      { headers: { authorization: `Basic ${Buffer.from(`user:${CLIENT_KEY}`).toString('base64')}` }, auth: false },
      { headers: { 'x-api-key': CLIENT_KEY }, auth: false },
      { headers: { 'x-api-key': CLIENT_KEYS[1] }, auth: true },
      { headers: { 'idempotency-key': CLIENT_KEY }, auth: true },
      { headers: { authorization: OPERATOR_KEY }, auth: false },
      { headers: { authorization: `Bearer ${OPERATOR_KEY}x` }, auth: false },
      { headers: { authorization: `Bearer ${OPERATOR_KEY.slice(0, -1)}` }, auth: false },
      { headers: { 'x-api-key': OPERATOR_KEY }, auth: false },
      { headers: { 'idempotency-key': OPERATOR_KEY }, auth: true },
    ];
    const unauthorized: number[] = [];
    for (const m of misplaced) {
      const a = await call(cluster.apiUrl, '/v1/jobs', {
        headers: m.headers,
        auth: m.auth,
        body: { messages: [{ role: 'user', content: 'x' }] },
      });
      if (!m.auth) unauthorized.push(a.status);
    }
    await call(cluster.apiUrl, `/v1/models?api_key=${CLIENT_KEY}`, { auth: false });
    await call(cluster.apiUrl, `/metrics?api_key=${OPERATOR_KEY}`, { auth: false });
    await call(cluster.apiUrl, `/admin/queues?token=${OPERATOR_KEY}`, { auth: false });
    await call(cluster.apiUrl, `/v1/jobs/does-not-exist?key=${PROVIDER_KEYS.GEMINI_API_KEY}`);

    const errors = views.filter((v) => v.status === 'failed');
    const redacted = views.filter((v) => JSON.stringify(v).includes('[REDACTED]')).length + (status.text.includes('[REDACTED]') ? 1 : 0);
    const providerKeysSeen = Object.entries(PROVIDER_KEYS)
      .filter(([, key]) => keysSeen.has(key))
      .map(([name]) => name);
    report.summary = `${ids.length} jobs against upstreams echoing keys, ${scanner.totals.responses - before} responses at LOG_LEVEL=debug: 0 leaks expected`;
    report.set('jobs (4 providers, with fallbacks)', `${ids.length}: ${views.length - errors.length} completed, ${errors.length} failed`);
    report.set('hostile upstream answers (key echoed in body, headers, half answers)', evilAnswers);
    report.set('provider keys the upstreams were sent (proof the calls carried them)', providerKeysSeen.join(', '));
    report.set('answers in which a key arrived and was scrubbed ([REDACTED] present)', redacted);
    report.set('misplaced or wrong client and operator keys: statuses', unauthorized.join(' '));
    report.set('operator routes with a client key: statuses', refusedToClient.join(' '));

    expect(ids.length).toBe(80);
    expect(providerKeysSeen.sort()).toEqual(['ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'OPENROUTER_API_KEY']);
    expect(evilAnswers).toBeGreaterThan(50);
    expect(unauthorized.every((s) => s === 401)).toBe(true);
    expect(refusedToClient.every((s) => s === 403)).toBe(true);
    expect(session.status).toBe(204);
    expect(cookie).toMatch(/^sy_session=[0-9a-f]{64}$/);
    report.passed();
  });

  it('finds no key in any log line, response or Redis value', async () => {
    const redis = cluster.client();
    report.set('Redis keys scanned', await scanRedisForSecrets(redis));
    redis.disconnect();
    await cluster.stop();
    report.set('log lines scanned (api + worker, debug)', scanner.totals.logLines);
    report.set('responses scanned', scanner.totals.responses);
    for (const leak of scanner.leaks.slice(0, 5)) report.note(`LEAK of ${leak.secret} in ${leak.where}: ${leak.excerpt}`);
    expect(scanner.leaks).toEqual([]);
    report.passed();
  });
});
