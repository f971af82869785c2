/**
 * The OpenAI-compatible facade with the official `openai` SDK as the client, unchanged, against the
 * real API on a real port, a real Redis and apps/worker's JobWorker (echo runner). Every response
 * and every stream chunk is validated against OpenAI's published OpenAPI description.
 */
import { waitFor } from '@switchyard/shared/testing';
import OpenAI, { APIError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError, RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';
import { type EchoWorker, startEchoWorker } from './support/echo-worker.ts';
import { assertOpenAi } from './support/openai-spec.ts';

const KEY = 'sdk-test-key-0001';
let api: TestApi;
let worker: EchoWorker;
let baseURL: string;
let client: OpenAI;

beforeAll(async () => {
  api = await startTestApi({ API_KEYS: KEY, RATE_LIMIT_RPM: '0' });
  const address = await api.app.listen({ host: '127.0.0.1', port: 0 });
  baseURL = `${address}/v1`;
  worker = await startEchoWorker({ REDIS_URL: api.redisUrl, SWITCHYARD_NAMESPACE: api.namespace });
  client = new OpenAI({ apiKey: KEY, baseURL, maxRetries: 0, timeout: 20_000 });
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
});

const user = (content: string) => [{ role: 'user' as const, content }];

describe('plain completions', () => {
  it('answers a chat completion in OpenAI shape', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'mock/echo', messages: [{ role: 'system', content: 'be brief' }, ...user('hello there')] })
      .withResponse();
    assertOpenAi('CreateChatCompletionResponse', data);
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('mock/echo');
    expect(data.choices[0]?.message).toEqual({ role: 'assistant', content: 'hello there', refusal: null });
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
    expect(response.headers.get('x-switchyard-job-id')).toBe(data.id.slice('chatcmpl-'.length));
  });

  it('takes text content parts, OpenRouter `models` fallbacks and max_completion_tokens; ignores unknown fields', async () => {
    const data = await client.chat.completions.create({
      model: 'mock/echo',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'part one' },
            { type: 'text', text: 'part two' },
          ],
        },
      ],
      max_completion_tokens: 50,
      temperature: 0.2,
      top_p: 0.5,
      // @ts-expect-error OpenRouter's extension, not in OpenAI's types
      models: ['mock/echo', 'mock/other'],
      some_future_field: { nested: true },
    });
    assertOpenAi('CreateChatCompletionResponse', data);
    expect(data.choices[0]?.message.content).toBe('part one\npart two');
    const job = await api.ctx.jobs.queue.getJob(data.id.slice('chatcmpl-'.length));
    expect(job?.data.request).toMatchObject({
      model: 'mock/echo',
      fallbacks: ['mock/other'],
      max_tokens: 50,
      temperature: 0.2,
      top_p: 0.5,
    });
  });

  it('an Idempotency-Key replays the same job instead of running it again', async () => {
    const opts = { headers: { 'Idempotency-Key': 'sdk-replay-1' } };
    const first = await client.chat.completions.create({ model: 'mock/echo', messages: user('only once') }, opts);
    const runs = worker.started.length;
    const again = await client.chat.completions.create({ model: 'mock/echo', messages: user('only once') }, opts);
    expect(again.id).toBe(first.id);
    expect(again.choices[0]?.message.content).toBe('only once');
    expect(worker.started.length).toBe(runs);
  });

  it('lists models in OpenAI shape', async () => {
    const page = await client.models.list();
    assertOpenAi('ListModelsResponse', { object: 'list', data: page.data });
    expect(page.data.map((m) => m.id)).toContain('mock/echo');
    for (const model of page.data) assertOpenAi('Model', model);
  });
});

describe('streamed completions', () => {
  async function collect(content: string, extra: Record<string, unknown> = {}) {
    const stream = await client.chat.completions.create({ model: 'mock/echo', messages: user(content), stream: true, ...extra });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return chunks;
  }

  it('streams role, content deltas, finish_reason and usage, each chunk valid', async () => {
    const text = 'the quick brown fox jumps over the lazy dog again and again';
    const chunks = await collect(text, { stream_options: { include_usage: true } });
    for (const chunk of chunks) assertOpenAi('CreateChatCompletionStreamResponse', chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(text);
    expect(chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '').length).toBeGreaterThan(3);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('fills in tokens that never arrived from the final result', async () => {
    const text = 'partial: one two three four five six seven eight';
    const chunks = await collect(text);
    for (const chunk of chunks) assertOpenAi('CreateChatCompletionStreamResponse', chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(text);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('ends with data: [DONE] on the wire', async () => {
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/echo', messages: user('wire check'), stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const body = await res.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('a failure before the first token is a typed HTTP error; after it, an error event', async () => {
    const early = client.chat.completions.create({ model: 'mock/echo', messages: user('fail:context_length_exceeded'), stream: true });
    await expect(early).rejects.toBeInstanceOf(BadRequestError);

    const stream = await client.chat.completions.create({
      model: 'mock/echo',
      messages: user('midfail: one two three four five six'),
      stream: true,
    });
    const seen: string[] = [];
    const iterate = async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    };
    const err = await iterate().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).code).toBe('upstream_unavailable');
    expect(seen.join('')).toContain('one');
  });
});

describe('errors reach the SDK as its typed errors', () => {
  const fail = (cls: string) => client.chat.completions.create({ model: 'mock/echo', messages: user(`fail:${cls}`) });

  it('401 for a wrong key', async () => {
    const bad = new OpenAI({ apiKey: 'not-the-key-123', baseURL, maxRetries: 0 });
    const err = await bad.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(JSON.stringify((err as APIError).error)).not.toContain('not-the-key-123');
  });

  it('404 model_not_found for a bare or unknown model', async () => {
    for (const model of ['gpt-4o', 'nope/x', 'openai/gpt-4o']) {
      const err = await client.chat.completions.create({ model, messages: user('hi') }).catch((e: unknown) => e);
      expect(err, model).toBeInstanceOf(NotFoundError);
      expect((err as APIError).code).toBe('model_not_found');
      expect((err as APIError).param).toBe('model');
      assertOpenAi('ErrorResponse', { error: (err as APIError).error });
    }
  });

  it('400 for an invalid body', async () => {
    const err = await client.chat.completions.create({ model: 'mock/echo', messages: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    assertOpenAi('ErrorResponse', { error: (err as APIError).error });
    const parts = await client.chat.completions
      .create({ model: 'mock/echo', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }] })
      .catch((e: unknown) => e);
    expect(parts).toBeInstanceOf(BadRequestError);
    expect((parts as APIError).param).toBe('messages[0].content[0]');
  });

  it('job failure classes map to statuses and OpenAI codes', async () => {
    const cases: Array<[string, new (...args: never[]) => APIError, number, string]> = [
      ['bad_request', BadRequestError, 400, 'invalid_request'],
      ['context_length_exceeded', BadRequestError, 400, 'context_length_exceeded'],
      ['content_policy', BadRequestError, 400, 'content_policy_violation'],
      ['model_not_found', NotFoundError, 404, 'model_not_found'],
      ['rate_limited', RateLimitError, 429, 'rate_limit_exceeded'],
      ['no_provider_available', InternalServerError, 503, 'no_provider_available'],
      ['service_unavailable', InternalServerError, 503, 'upstream_unavailable'],
      ['timeout', InternalServerError, 504, 'timeout'],
      ['credits_exhausted', InternalServerError, 502, 'upstream_credits_exhausted'],
      ['api_key_invalid', InternalServerError, 502, 'upstream_api_key_invalid'],
    ];
    await Promise.all(
      cases.map(async ([cls, type, status, code]) => {
        const err = (await fail(cls).catch((e: unknown) => e)) as APIError;
        expect(err, cls).toBeInstanceOf(type);
        expect(err.status, cls).toBe(status);
        expect(err.code, cls).toBe(code);
        assertOpenAi('ErrorResponse', { error: err.error });
        if (status === 429 || status === 503) expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});

describe('retry-after comes from the fleet state', () => {
  it('a cooldown for rate_limited, the next probe of an open circuit for no_provider_available', async () => {
    await api.ctx.state.report({ provider: 'mock', model: 'echo', outcome: 'rate_limited', latencyMs: 5, retryAfterMs: 30_000 });
    const limited = (await client.chat.completions
      .create({ model: 'mock/echo', messages: user('fail:rate_limited') })
      .catch((e) => e)) as APIError;
    expect(limited).toBeInstanceOf(RateLimitError);
    const cooldown = Number(limited.headers?.get('retry-after'));
    expect(cooldown).toBeGreaterThanOrEqual(25);
    expect(cooldown).toBeLessThanOrEqual(30);

    for (let i = 0; i < api.ctx.config.CIRCUIT_FAILURE_THRESHOLD; i++) {
      await api.ctx.state.report({ provider: 'mock', model: 'echo', outcome: 'service_unavailable', latencyMs: 5 });
    }
    const none = (await client.chat.completions
      .create({ model: 'mock/echo', messages: user('fail:no_provider_available') })
      .catch((e) => e)) as APIError;
    expect(none.status).toBe(503);
    const wait = Number(none.headers?.get('retry-after'));
    expect(wait).toBeGreaterThan(30);
    expect(wait).toBeLessThanOrEqual(Math.ceil(api.ctx.config.CIRCUIT_RESET_MS / 1000));
  });
});

describe('client disconnects', () => {
  it('hanging up on a completion cancels its job', async () => {
    const controller = new AbortController();
    const before = worker.started.length;
    const request = client.chat.completions
      .create({ model: 'mock/echo', messages: user('sleep:10000 never read') }, { signal: controller.signal })
      .withResponse()
      .catch((e: unknown) => e);
    await waitFor(() => worker.started.length > before, 'the worker to start the job', 10_000);
    const id = worker.started.at(-1) as string;
    controller.abort();
    await request;
    const view = await waitFor(
      async () => {
        const v = await api.ctx.jobs.view(id);
        return v?.status === 'cancelled' ? v : null;
      },
      'the job to be cancelled',
      10_000,
    );
    expect(view.error?.class).toBe('aborted');
  });

  it('hanging up on a stream cancels its job too', async () => {
    const controller = new AbortController();
    const before = worker.started.length;
    const request = client.chat.completions
      .create({ model: 'mock/echo', messages: user('sleep:10000 never streamed'), stream: true }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await waitFor(() => worker.started.length > before, 'the worker to start the job', 10_000);
    const id = worker.started.at(-1) as string;
    controller.abort();
    await request;
    await waitFor(async () => (await api.ctx.jobs.view(id))?.status === 'cancelled', 'the job to be cancelled', 10_000);
  });
});
