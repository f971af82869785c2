/**
 * The mock server itself: exact call accounting (tests and benchmarks rely on it), the admin API,
 * fault precedence and syntax, latency, echo, each prefix's models endpoint, vendor auth answers.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockServer, parseFault, startMockServer } from '../src/mock-server/index.ts';
import { callOptions, expectFailure, makeAdapter, pollUntil, userRequest } from './helpers.ts';

let server: MockServer;
beforeAll(async () => {
  server = await startMockServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.resetStats();
  server.clearFaults();
});

const chat = (prefix: string, text: string, init: { stream?: boolean; headers?: Record<string, string>; signal?: AbortSignal } = {}) =>
  fetch(`${server.url}${prefix}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test-key-000000', ...init.headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...(init.stream ? { stream: true } : {}) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });

const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${server.url}/__mock/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('fault syntax', () => {
  it.each([
    ['status=429;retry-after=2', { status: 429, retryAfter: '2' }],
    ['latency=100', { latencyMs: 100 }],
    ['latency=10-50', { latencyMs: 10, latencyMaxMs: 50 }],
    ['tail=5%:2000', { tail: { percent: 5, ms: 2000 } }],
    ['hang', { hang: true }],
    ['reset', { reset: true }],
    ['cut=3, slow=5', { cut: 3, slowMs: 5 }],
    ['eof', { eof: 1 }],
    ['hang-after=2;words=10', { hangAfter: 2, words: 10 }],
    ['error=overloaded;retry-after-ms=300', { error: 'overloaded', retryAfterMs: 300 }],
    ['malformed; inband', { malformed: true, inband: true }],
    ['status=503,retry-after=Wed, 21 Oct 2026 07:28:00 GMT,hang', { status: 503, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT', hang: true }],
    ['', {}],
  ])('%s', (spec, expected) => {
    expect(parseFault(spec)).toEqual(expected);
  });

  it.each(['status=99', 'status=abc', 'error=nope', 'tail=5:100', 'explode', 'latency=-1'])('rejects %s', (spec) => {
    expect(() => parseFault(spec)).toThrow();
  });

  it('a bad fault spec on a request is a 400 naming the problem', async () => {
    const res = await chat('/openai/v1', 'x', { headers: { 'x-mock-fault': 'status=abc' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'mock_fault_syntax' } });
  });
});

describe('call accounting', () => {
  it('counts every call once and ends it exactly once', async () => {
    await Promise.all([1, 2, 3].map(() => chat('/openai/v1', 'ok').then((r) => r.text())));
    await (await chat('/openai/v1', 'streamed', { stream: true })).text();
    await (await chat('/openai/v1', 'x', { headers: { 'x-mock-fault': 'status=500' } })).text();
    await chat('/openai/v1', 'x', { headers: { 'x-mock-fault': 'reset' } }).catch(() => {});
    await chat('/openai/v1', 'x', { stream: true, headers: { 'x-mock-fault': 'cut=1' } })
      .then((r) => r.text())
      .catch(() => {});
    const controller = new AbortController();
    const hung = chat('/openai/v1', 'x [[mock:hang]]', { signal: controller.signal }).catch(() => {});
    await pollUntil(() => server.stats().total.inFlight === 1, 'the hung call');
    controller.abort();
    await hung;
    await pollUntil(() => server.stats().total.abandoned === 1, 'the abandoned call');

    const { total, byProvider, byModel, byEndpoint } = server.stats();
    const expected = { received: 8, inFlight: 0, completed: 5, abandoned: 1, dropped: 2, faulted: 4, streamed: 2 };
    expect(total).toEqual(expected);
    expect(byProvider.openai).toEqual(expected);
    expect(byModel['openai/gpt-4o-mini']).toEqual(expected);
    expect(byEndpoint['openai:chat']).toEqual(expected);
  });

  it('stays exact under concurrency: received = completed + abandoned + dropped + inFlight', async () => {
    const faults = ['', 'latency=5', 'status=503', 'reset', 'malformed', 'inband', 'eof=1'];
    await Promise.all(
      Array.from({ length: 70 }, (_, i) =>
        chat(i % 2 ? '/openrouter/api/v1' : '/mock/v1', 'x', {
          stream: i % 3 === 0,
          headers: { 'x-mock-fault': faults[i % faults.length]! },
        })
          .then((r) => r.text())
          .catch(() => {}),
      ),
    );
    await pollUntil(() => server.stats().total.inFlight === 0, 'all calls to end');
    const { total, byProvider } = server.stats();
    expect(total.received).toBe(70);
    expect(total.completed + total.abandoned + total.dropped).toBe(70);
    expect(total.dropped).toBe(10);
    expect(byProvider.openrouter!.received + byProvider.mock!.received).toBe(70);
  });

  it('admin and unknown routes are not counted', async () => {
    await admin('GET', 'stats');
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect(server.stats().total.received).toBe(0);
  });
});

describe('admin API', () => {
  it('rules by provider, model glob, count; listed with what remains; stats and reset over HTTP', async () => {
    const set = await admin('POST', 'faults', { rules: [{ provider: 'openai', model: 'gpt-4o*', fault: 'status=503', count: 2 }] });
    expect(set.status).toBe(200);
    expect((await chat('/openai/v1', 'a')).status).toBe(503);
    expect((await chat('/openrouter/api/v1', 'a')).status).toBe(200);
    expect((await admin('GET', 'faults')).body.rules).toMatchObject([{ provider: 'openai', remaining: 1 }]);
    expect((await chat('/openai/v1', 'a')).status).toBe(503);
    expect((await chat('/openai/v1', 'a')).status).toBe(200);
    const stats = await admin('GET', 'stats');
    expect(stats.body).toEqual(server.stats());
    expect((await admin('POST', 'reset')).status).toBe(200);
    expect(server.stats().total.received).toBe(0);
    expect(server.faults()).toEqual([]);
  });

  it('probability 0 never fires, 1 always; append mode; DELETE clears', async () => {
    await admin('POST', 'faults', { rules: [{ provider: '*', fault: 'status=500', probability: 0 }] });
    await admin('POST', 'faults', { mode: 'append', rules: [{ provider: 'openai', fault: 'status=502', probability: 1 }] });
    expect((await chat('/openai/v1', 'a')).status).toBe(502);
    expect((await chat('/mock/v1', 'a')).status).toBe(200);
    await admin('DELETE', 'faults');
    expect((await chat('/openai/v1', 'a')).status).toBe(200);
  });

  it('rejects a bad rule with 400 and keeps the old rules', async () => {
    server.setFaults([{ provider: 'openai', fault: 'status=500' }]);
    const bad = await admin('POST', 'faults', { rules: [{ provider: 'openai', fault: 'status=999' }] });
    expect(bad.status).toBe(400);
    expect(server.faults()).toHaveLength(1);
    expect((await admin('GET', 'nothing')).status).toBe(404);
  });

  it('the OpenRouter account drives /key and the probe reports credits', async () => {
    await admin('POST', 'openrouter/account', { limit: 10, usage: 10 });
    const probe = await makeAdapter('openrouter', server.baseUrls).probe({ timeoutMs: 10_000 });
    expect(probe).toMatchObject({
      state: 'credits_exhausted',
      credits: { limit: 10, usage: 10, remaining: 0 },
      error: { class: 'credits_exhausted' },
    });
    await admin('POST', 'openrouter/account', { limit: null, usage: 3 });
    const unlimited = await makeAdapter('openrouter', server.baseUrls).probe({ timeoutMs: 10_000 });
    expect(unlimited).toMatchObject({ state: 'active', credits: { limit: null, remaining: null, usage: 3 } });
    const credits = await fetch(`${server.url}/openrouter/api/v1/credits`, { headers: { authorization: 'Bearer k' } });
    expect(await credits.json()).toEqual({ data: { total_credits: 1000, total_usage: 3 } });
  });
});

describe('faults and echo', () => {
  it('header beats directive beats rule', async () => {
    server.setFaults([{ provider: 'openai', fault: 'status=500' }]);
    expect((await chat('/openai/v1', 'x [[mock:status=502]]', { headers: { 'x-mock-fault': 'status=503' } })).status).toBe(503);
    expect((await chat('/openai/v1', 'x [[mock:status=502]]')).status).toBe(502);
    expect((await chat('/openai/v1', 'x')).status).toBe(500);
  });

  it('echoes the last user message without the directive; words=N replaces it', async () => {
    const echoed = (await (await chat('/openai/v1', 'say [[mock:latency=1]] this')).json()) as {
      choices: Array<{ message: { content: string } }>;
    };
    expect(echoed.choices[0]!.message.content).toBe('say this');
    const worded = (await (await chat('/openai/v1', 'x [[mock:words=5]]')).json()) as { choices: Array<{ message: { content: string } }> };
    expect(worded.choices[0]!.message.content.split(' ')).toHaveLength(5);
  });

  it('latency: fixed, heavy tail on 100% and on 0% of calls', async () => {
    const time = async (fault: string) => {
      const started = performance.now();
      await (await chat('/openai/v1', `x [[mock:${fault}]]`)).text();
      return performance.now() - started;
    };
    expect(await time('latency=80')).toBeGreaterThanOrEqual(75);
    expect(await time('tail=100%:60')).toBeGreaterThanOrEqual(55);
    // The tail would add 5 s: anything well under it shows it was not drawn.
    expect(await time('tail=0%:5000')).toBeLessThan(2_500);
  });

  it('error answers carry the retry-after the fault names', async () => {
    const res = await chat('/openai/v1', 'x', {
      headers: { 'x-mock-fault': 'status=429;retry-after=Wed, 21 Oct 2026 07:28:00 GMT;retry-after-ms=1500' },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('Wed, 21 Oct 2026 07:28:00 GMT');
    expect(res.headers.get('retry-after-ms')).toBe('1500');
  });

  it('close() ends hung connections at once', async () => {
    const other = await startMockServer();
    const hung = fetch(`${other.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json', 'x-mock-fault': 'hang' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    }).catch((err: unknown) => err);
    await pollUntil(() => other.stats().total.inFlight === 1, 'the hung call');
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await hung).toBeInstanceOf(Error);
    expect(other.stats().total).toMatchObject({ dropped: 1, inFlight: 0 });
  });
});

describe('wire formats', () => {
  it.each([
    ['/openai/v1/models', { authorization: 'Bearer k' }, (b: any) => b.object === 'list' && b.data[0].object === 'model'],
    ['/mock/v1/models', {}, (b: any) => b.data.some((m: any) => m.id === 'echo')],
    ['/openrouter/api/v1/models', { authorization: 'Bearer k' }, (b: any) => typeof b.data[0].context_length === 'number'],
    [
      '/anthropic/v1/models',
      { 'x-api-key': 'k', 'anthropic-version': '2026-10-21' },
      (b: any) => b.data[0].type === 'model' && b.has_more === false,
    ],
    [
      '/gemini/v1beta/models?pageSize=2',
      { 'x-goog-api-key': 'k' },
      (b: any) => b.models.length === 2 && b.models[0].name.startsWith('models/'),
    ],
    ['/ollama/api/tags', {}, (b: any) => b.models[0].details.format === 'gguf'],
  ] as Array<[string, Record<string, string>, (b: unknown) => boolean]>)('GET %s', async (path, headers, check) => {
    const res = await fetch(`${server.url}${path}`, { headers });
    expect(res.status).toBe(200);
    expect(check(await res.json())).toBe(true);
  });

  it.each([
    ['/openai/v1/models', {}, 401],
    ['/openrouter/api/v1/key', {}, 401],
    ['/anthropic/v1/models', { 'anthropic-version': '2026-10-21' }, 401],
    ['/anthropic/v1/models', { 'x-api-key': 'k' }, 400],
    ['/gemini/v1beta/models', {}, 403],
  ] as Array<[string, Record<string, string>, number]>)(
    'GET %s without credentials -> the vendor answer %i',
    async (path, headers, status) => {
      expect((await fetch(`${server.url}${path}`, { headers })).status).toBe(status);
    },
  );

  it('anthropic 2026-10-21 rejects sampling parameters like the real API', async () => {
    const res = await fetch(`${server.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': '2026-10-21', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 10, temperature: 1, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'temperature: Extra inputs are not permitted' },
    });
  });

  it('gemini: a blocked prompt is a 200 with promptFeedback, classified content_policy', async () => {
    const err = await expectFailure(
      makeAdapter('gemini', server.baseUrls).chat(userRequest('gemini-2.5-flash', 'x [[mock:error=content_policy]]'), callOptions(false)),
    );
    expect(err.errorClass).toBe('content_policy');
  });

  it('gemini: RetryInfo in the body becomes retryAfterMs when no header says otherwise', async () => {
    const err = await expectFailure(
      makeAdapter('gemini', server.baseUrls).chat(userRequest('gemini-2.5-flash', 'x [[mock:error=rate_limit]]'), callOptions(false)),
    );
    expect(err).toMatchObject({ errorClass: 'rate_limited', retryAfterMs: 7000 });
  });

  it('rate-limit headers are kept on the error', async () => {
    const openai = await expectFailure(
      makeAdapter('openai', server.baseUrls).chat(userRequest('gpt-4o-mini', 'x [[mock:error=rate_limit]]'), callOptions(false)),
    );
    expect(openai.rateLimit).toMatchObject({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '120ms' });
    const anthropic = await expectFailure(
      makeAdapter('anthropic', server.baseUrls).chat(
        userRequest('claude-haiku-4-5', 'x [[mock:error=rate_limit;retry-after=4]]'),
        callOptions(true),
      ),
    );
    expect(anthropic).toMatchObject({
      errorClass: 'rate_limited',
      retryAfterMs: 4000,
      rateLimit: { 'anthropic-ratelimit-requests-remaining': '0' },
    });
  });
});
