/**
 * What each adapter puts on the wire equals the vendor's documented request format, headers
 * included, for chat (plain and streaming) and for the probe; OpenAI/OpenRouter bodies and the mock
 * server's OpenAI answers are validated against createChatCompletion's schemas in OpenAI's OpenAPI
 * description. SDK retries are off: one failed call is one request.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ANTHROPIC_DEFAULT_MAX_TOKENS } from '../src/anthropic/request.ts';
import { type MockServer, type RecordedRequest, startMockServer } from '../src/mock-server/index.ts';
import { OPENROUTER_APP_TITLE, OPENROUTER_APP_URL } from '../src/openrouter/index.ts';
import type { ChatRequest } from '../src/types.ts';
import { type AdapterName, callOptions, expectFailure, KEYS, MODEL_FOR, makeAdapter } from './helpers.ts';
import { loadOpenAIValidators, type OpenAIValidators } from './openapi.ts';

let server: MockServer;
let schemas: OpenAIValidators;

beforeAll(async () => {
  server = await startMockServer({ record: true });
  schemas = loadOpenAIValidators();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.clearRequests());

const conversation = (model: string): ChatRequest => ({
  model,
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello.' },
    { role: 'user', content: 'Say ok' },
  ],
  maxTokens: 64,
  temperature: 0.2,
  topP: 0.9,
});

const openaiMessages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: 'Say ok' },
];

async function sent(adapter: AdapterName, stream: boolean): Promise<RecordedRequest> {
  const provider = makeAdapter(adapter, server.baseUrls);
  await provider.chat(conversation(MODEL_FOR[adapter]), callOptions(stream));
  const requests = server.requests();
  expect(requests).toHaveLength(1);
  return requests[0]!;
}

describe.each([false, true])('request shape, stream=%s', (stream) => {
  it('openai: POST /chat/completions, Bearer key, createChatCompletion body', async () => {
    const r = await sent('openai', stream);
    expect(r).toMatchObject({ method: 'POST', path: '/openai/v1/chat/completions', query: '' });
    expect(r.headers.authorization).toBe(`Bearer ${KEYS.openai}`);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toEqual({
      model: 'gpt-4o-mini',
      messages: openaiMessages,
      max_completion_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
    expect(schemas.request(r.body), JSON.stringify(schemas.request.errors)).toBe(true);
  });

  it('openrouter: OpenAI body with max_tokens, Bearer key, HTTP-Referer and X-Title', async () => {
    const r = await sent('openrouter', stream);
    expect(r).toMatchObject({ method: 'POST', path: '/openrouter/api/v1/chat/completions' });
    expect(r.headers.authorization).toBe(`Bearer ${KEYS.openrouter}`);
    expect(r.headers['http-referer']).toBe(OPENROUTER_APP_URL);
    expect(r.headers['x-title']).toBe(OPENROUTER_APP_TITLE);
    expect(r.headers['openai-organization']).toBeUndefined();
    expect(r.body).toEqual({
      model: 'meta-llama/llama-3.1-8b-instruct',
      messages: openaiMessages,
      max_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
    expect(schemas.request(r.body), JSON.stringify(schemas.request.errors)).toBe(true);
  });

  it('anthropic: POST /v1/messages, x-api-key (no Bearer), anthropic-version, top-level system, no sampling params', async () => {
    const r = await sent('anthropic', stream);
    expect(r).toMatchObject({ method: 'POST', path: '/anthropic/v1/messages' });
    expect(r.headers['x-api-key']).toBe(KEYS.anthropic);
    expect(r.headers.authorization).toBeUndefined();
    expect(r.headers['anthropic-version']).toBe('2026-10-21');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toEqual({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      system: 'You are terse.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Say ok' },
      ],
      ...(stream ? { stream: true } : {}),
    });
  });

  it('gemini: generateContent / streamGenerateContent?alt=sse, key in x-goog-api-key only', async () => {
    const r = await sent('gemini', stream);
    expect(r.method).toBe('POST');
    expect(r.path).toBe(`/gemini/v1beta/models/gemini-2.5-flash:${stream ? 'streamGenerateContent' : 'generateContent'}`);
    expect(r.query).toBe(stream ? '?alt=sse' : '');
    expect(r.headers['x-goog-api-key']).toBe(KEYS.gemini);
    expect(r.headers.authorization).toBeUndefined();
    expect(r.body).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Hello.' }] },
        { role: 'user', parts: [{ text: 'Say ok' }] },
      ],
      systemInstruction: { parts: [{ text: 'You are terse.' }] },
      generationConfig: { maxOutputTokens: 64, temperature: 0.2, topP: 0.9 },
    });
  });

  it('ollama: POST /api/chat with explicit stream flag and options', async () => {
    const r = await sent('ollama', stream);
    expect(r).toMatchObject({ method: 'POST', path: '/ollama/api/chat' });
    expect(r.body).toEqual({
      model: 'llama3.2',
      messages: openaiMessages,
      stream,
      options: { num_predict: 64, temperature: 0.2, top_p: 0.9 },
    });
  });
});

describe('request shape details', () => {
  it('anthropic: max_tokens defaults when the job sets none', async () => {
    await makeAdapter('anthropic', server.baseUrls).chat(
      { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] },
      callOptions(false),
    );
    expect((server.requests()[0]!.body as { max_tokens: number }).max_tokens).toBe(ANTHROPIC_DEFAULT_MAX_TOKENS);
  });

  it('openai: developer role kept for OpenAI, mapped to system for OpenRouter', async () => {
    const request: ChatRequest = {
      model: 'm',
      messages: [
        { role: 'developer', content: 'rules' },
        { role: 'user', content: 'x' },
      ],
    };
    await makeAdapter('openai', server.baseUrls).chat(request, callOptions(false));
    await makeAdapter('openrouter', server.baseUrls).chat(request, callOptions(false));
    const [openai, openrouter] = server.requests();
    expect((openai!.body as { messages: unknown[] }).messages[0]).toEqual({ role: 'developer', content: 'rules' });
    expect((openrouter!.body as { messages: unknown[] }).messages[0]).toEqual({ role: 'system', content: 'rules' });
    expect(schemas.request(openai!.body)).toBe(true);
  });

  it.each([
    ['openai', 'GET', '/openai/v1/models', '', { authorization: `Bearer ${KEYS.openai}` }],
    ['openrouter', 'GET', '/openrouter/api/v1/key', '', { authorization: `Bearer ${KEYS.openrouter}`, 'x-title': OPENROUTER_APP_TITLE }],
    ['anthropic', 'GET', '/anthropic/v1/models', '?limit=1', { 'x-api-key': KEYS.anthropic, 'anthropic-version': '2026-10-21' }],
    ['gemini', 'GET', '/gemini/v1beta/models', '?pageSize=1', { 'x-goog-api-key': KEYS.gemini }],
    ['ollama', 'GET', '/ollama/api/tags', '', {}],
    ['mock', 'GET', '/mock/v1/models', '', {}],
  ] as Array<[AdapterName, string, string, string, Record<string, string>]>)(
    '%s probe: %s %s%s',
    async (adapter, method, path, query, headers) => {
      const result = await makeAdapter(adapter, server.baseUrls).probe({ timeoutMs: 2_000 });
      expect(result.state).toBe('active');
      const [r] = server.requests();
      expect(r).toMatchObject({ method, path, query });
      expect(r!.headers).toMatchObject(headers);
    },
  );

  it.each(['openai', 'openrouter', 'anthropic'] as AdapterName[])(
    '%s: SDK retries are off, a 503 is exactly one request',
    async (adapter) => {
      const err = await expectFailure(
        makeAdapter(adapter, server.baseUrls).chat(
          { model: MODEL_FOR[adapter], messages: [{ role: 'user', content: 'x [[mock:status=503;retry-after=0]]' }] },
          callOptions(false),
        ),
      );
      expect(err.errorClass).toBe('service_unavailable');
      await new Promise((r) => setTimeout(r, 50));
      expect(server.requests()).toHaveLength(1);
    },
  );
});

describe('mock server answers match createChatCompletion', () => {
  const post = (prefix: string, body: unknown) =>
    fetch(`${server.url}${prefix}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test' },
      body: JSON.stringify(body),
    });

  it.each(['/openai/v1', '/openrouter/api/v1', '/mock/v1'])('%s: chat.completion validates and echoes', async (prefix) => {
    const res = await post(prefix, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'echo this' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(schemas.response(body), JSON.stringify(schemas.response.errors)).toBe(true);
    expect(body.choices[0]!.message.content).toBe('echo this');
  });

  it.each(['/openai/v1', '/openrouter/api/v1', '/mock/v1'])(
    '%s: every chat.completion.chunk validates, ends with [DONE]',
    async (prefix) => {
      const res = await post(prefix, {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'echo this now' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const text = await res.text();
      const data = text
        .split(/\n\n/)
        .map((frame) => frame.trim())
        .filter((frame) => frame.startsWith('data: '))
        .map((frame) => frame.slice(6));
      expect(data.at(-1)).toBe('[DONE]');
      const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
      for (const chunk of chunks) expect(schemas.chunk(chunk), JSON.stringify(schemas.chunk.errors)).toBe(true);
      expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('echo this now');
      expect(chunks.at(-1).usage).toMatchObject({ completion_tokens: 3 });
      if (prefix.startsWith('/openrouter')) expect(text.startsWith(': OPENROUTER PROCESSING')).toBe(true);
    },
  );

  it('openai error bodies carry the documented error object', async () => {
    const res = await fetch(`${server.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test', 'x-mock-fault': 'error=context_length' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' },
    });
  });
});

describe('requests our caller got wrong', () => {
  it.each(['openai', 'openrouter', 'anthropic', 'gemini', 'ollama', 'mock'] as AdapterName[])(
    '%s: bad_request, nothing sent',
    async (adapter) => {
      const provider = makeAdapter(adapter, server.baseUrls);
      const bad = [
        { model: '', messages: [{ role: 'user', content: 'x' }] },
        { model: 'm', messages: [] },
        { model: 'm', messages: [{ role: 'wizard', content: 'x' }] },
        { model: 'm', messages: [{ role: 'user', content: 42 }] },
      ] as unknown as ChatRequest[];
      for (const request of bad) {
        const err = await expectFailure(provider.chat(request, callOptions(false)));
        expect(err.errorClass).toBe('bad_request');
      }
      expect(server.requests()).toHaveLength(0);
    },
  );
});
