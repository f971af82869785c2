/**
 * The openai-compatible kind: a server speaking OpenAI's chat completions (vLLM, llama.cpp, LM
 * Studio, Groq, ...). Requests are OpenAI's common subset (validated against createChatCompletion),
 * with no Authorization header when no key is configured; lean answers that omit optional fields
 * parse; a body that is not a completion is invalid_response; the servers' own error shapes
 * (vLLM's top-level error object, a bare `{"error":"..."}`, HTML from a proxy) classify right.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockServer, startMockServer } from '../src/mock-server/index.ts';
import { createOpenAICompatibleServerAdapter } from '../src/openai-compatible/index.ts';
import type { ChatRequest } from '../src/types.ts';
import { bodyAnswer, callOptions, expectFailure, KEYS, sseAnswer, userRequest, useScriptedServer } from './helpers.ts';
import { loadOpenAIValidators, type OpenAIValidators } from './openapi.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const KEY = KEYS['openai-compatible'];

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

function adapter(options: { apiKey?: string; baseUrl?: string } = {}) {
  return createOpenAICompatibleServerAdapter({
    baseUrl: options.baseUrl ?? server.baseUrls['openai-compatible'],
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    defaultTimeoutMs: 5_000,
  });
}

const conversation: ChatRequest = {
  model: MODEL,
  messages: [
    { role: 'developer', content: 'Answer in one word.' },
    { role: 'user', content: 'Say ok' },
  ],
  maxTokens: 32,
  temperature: 0,
};

describe('openai-compatible: requests', () => {
  it.each([false, true])('stream=%s without a key: no Authorization header; the common subset of createChatCompletion', async (stream) => {
    await adapter().chat(conversation, callOptions(stream));
    const r = server.requests()[0]!;
    expect(r).toMatchObject({ method: 'POST', path: '/compatible/v1/chat/completions', query: '' });
    expect(r.headers.authorization).toBeUndefined();
    expect(r.body).toEqual({
      model: MODEL,
      // Many chat templates know no developer role; max_tokens is the field every server reads.
      messages: [
        { role: 'system', content: 'Answer in one word.' },
        { role: 'user', content: 'Say ok' },
      ],
      max_tokens: 32,
      temperature: 0,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
    expect(schemas.request(r.body), JSON.stringify(schemas.request.errors)).toBe(true);
  });

  it('with a key: Authorization: Bearer on chat and probe', async () => {
    const withKey = adapter({ apiKey: KEY });
    await withKey.chat(userRequest(MODEL, 'hi'), callOptions(false));
    expect((await withKey.probe({ timeoutMs: 10_000 })).state).toBe('active');
    const [chat, probe] = server.requests();
    expect(chat!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(probe).toMatchObject({ method: 'GET', path: '/compatible/v1/models' });
    expect(probe!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('probe without a key: GET {base_url}/models, no Authorization, one attempt on failure', async () => {
    expect((await adapter().probe({ timeoutMs: 10_000 })).state).toBe('active');
    expect(server.requests()[0]!.headers.authorization).toBeUndefined();
    server.clearRequests();
    server.setFaults([{ provider: 'openai-compatible', endpoint: 'models', fault: 'status=503' }]);
    expect((await adapter().probe({ timeoutMs: 10_000 })).state).toBe('service_unavailable');
    expect(server.requests()).toHaveLength(1);
    server.clearFaults();
  });

  it('a key from the environment never reaches a keyless server', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = KEYS.openai;
    try {
      await adapter().chat(userRequest(MODEL, 'hi'), callOptions(false));
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
    expect(JSON.stringify(server.requests()[0]!.headers)).not.toContain(KEYS.openai.slice(8, 30));
  });

  it('refuses a missing or malformed base_url at construction, naming the field and the fix', () => {
    expect(() => createOpenAICompatibleServerAdapter({ baseUrl: undefined })).toThrow(/openai-compatible: base_url is required.*Fix: /);
    expect(() => createOpenAICompatibleServerAdapter({ baseUrl: 'gpu-box:8000' })).toThrow(/base_url/);
  });
});

describe('openai-compatible: lean answers', () => {
  it('a completion without id, created or usage: content, model, zero usage', async () => {
    const result = await adapter().chat(userRequest(MODEL, 'lean answer'), callOptions(false));
    expect(result).toEqual({
      content: 'lean answer',
      finishReason: 'stop',
      usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      model: MODEL,
    });
  });

  it('a stream: tokens as they come, usage from the include_usage chunk', async () => {
    const tokens: string[] = [];
    const result = await adapter().chat(userRequest(MODEL, 'lean answer'), callOptions(true, { onToken: (t) => tokens.push(t) }));
    expect(tokens).toEqual(['lean ', 'answer']);
    expect(result).toMatchObject({
      content: 'lean answer',
      finishReason: 'stop',
      usage: { promptTokens: 2, completionTokens: 2, totalTokens: 4 },
    });
  });
});

describe("openai-compatible: the servers' own errors", () => {
  it.each([
    // vLLM's top-level error object: its message decides (a context-length 400 is not any bad request).
    { fault: 'error=context_length', errorClass: 'context_length_exceeded', status: 400, message: /maximum context length is 8192/ },
    { fault: 'error=bad_request', errorClass: 'bad_request', status: 400, message: /temperature must be non-negative/ },
    { fault: 'error=model_not_found', errorClass: 'model_not_found', status: 404, message: /does not exist/ },
    // A server started with --api-key answers a bare {"error":"Unauthorized"}.
    { fault: 'error=auth', errorClass: 'api_key_invalid', status: 401, message: /Unauthorized/ },
    { fault: 'error=forbidden', errorClass: 'forbidden', status: 403, message: /Forbidden/ },
    { fault: 'error=credits', errorClass: 'credits_exhausted', status: 402, message: /Insufficient Balance/ },
    { fault: 'error=rate_limit', errorClass: 'rate_limited', status: 429, message: /Rate limit reached/, retryAfterMs: 4_000 },
    { fault: 'error=unavailable', errorClass: 'service_unavailable', status: 503, message: /Loading model/ },
    { fault: 'error=bad_gateway', errorClass: 'service_unavailable', status: 502, message: /502/ },
    { fault: 'error=server', errorClass: 'service_unavailable', status: 500, message: /EngineCore/ },
  ])('[$fault] -> $errorClass', async ({ fault, errorClass, status, message, retryAfterMs }) => {
    for (const stream of [false, true]) {
      const err = await expectFailure(adapter().chat(userRequest(MODEL, `x [[mock:${fault}]]`), callOptions(stream)));
      expect(err).toMatchObject({ errorClass, status, provider: 'openai-compatible' });
      expect(err.message).toMatch(message);
      if (retryAfterMs !== undefined) expect(err.retryAfterMs).toBe(retryAfterMs);
    }
  });

  it.each([
    { fault: 'inband', stream: true, errorClass: 'service_unavailable' },
    { fault: 'hang', stream: false, errorClass: 'timeout' },
    { fault: 'cut=1', stream: true, errorClass: 'network_error' },
    { fault: 'eof=1', stream: true, errorClass: 'invalid_response' },
  ])('[$fault] stream=$stream -> $errorClass', async ({ fault, stream, errorClass }) => {
    const err = await expectFailure(
      adapter().chat(userRequest(MODEL, `x [[mock:${fault}]]`), callOptions(stream, { timeoutMs: errorClass === 'timeout' ? 200 : 5_000 })),
    );
    expect(err.errorClass).toBe(errorClass);
  });
});

describe('openai-compatible: wire shapes the mock does not produce', () => {
  const start = useScriptedServer((url) => adapter({ baseUrl: `${url}/v1` }));

  it('a stream from a server that ignores stream_options: no usage chunk, no id or created: zero usage', async () => {
    const { adapter: compatible, seen } = await start(
      sseAnswer([
        { object: 'chat.completion.chunk', model: MODEL, choices: [{ index: 0, delta: { content: 'Hi' } }] },
        { object: 'chat.completion.chunk', model: MODEL, choices: [{ index: 0, delta: {}, finish_reason: 'length' }] },
        '[DONE]',
      ]),
    );
    const result = await compatible.chat(userRequest(MODEL, 'hi'), callOptions(true));
    expect(result).toEqual({
      content: 'Hi',
      finishReason: 'length',
      usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      model: MODEL,
    });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/chat/completions' });
  });

  it('a completion whose model is empty reports the requested one', async () => {
    const { adapter: compatible } = await start(
      bodyAnswer(200, { model: '', choices: [{ message: { content: 'ok' }, finish_reason: 'stop' }] }),
    );
    expect(await compatible.chat(userRequest(MODEL, 'hi'), callOptions(false))).toMatchObject({ content: 'ok', model: MODEL });
  });

  it.each([
    ['a model list instead of a completion', bodyAnswer(200, { object: 'list', data: [{ id: MODEL, object: 'model' }] })],
    ['a legacy text completion', bodyAnswer(200, { object: 'text_completion', choices: [{ text: 'ok', index: 0 }] })],
    ['an HTML page with status 200', bodyAnswer(200, '<!doctype html><title>LM Studio</title>', 'text/html')],
  ])('%s is invalid_response', async (_label, answer) => {
    const { adapter: compatible } = await start(answer);
    const err = await expectFailure(compatible.chat(userRequest(MODEL, 'hi'), callOptions(false)));
    expect(err.errorClass).toBe('invalid_response');
  });

  it("vLLM's in-band stream error: its numeric code is the class (400 -> bad_request)", async () => {
    const { adapter: compatible } = await start(
      sseAnswer([
        { object: 'chat.completion.chunk', model: MODEL, choices: [{ index: 0, delta: { content: 'Hi' } }] },
        {
          error: {
            object: 'error',
            message: 'Sampled token IDs exceed the max model length.',
            type: 'BadRequestError',
            param: null,
            code: 400,
          },
        },
        '[DONE]',
      ]),
    );
    const err = await expectFailure(compatible.chat(userRequest(MODEL, 'hi'), callOptions(true)));
    expect(err.errorClass).toBe('bad_request');
    expect(err.message).toMatch(/max model length/);
  });
});
