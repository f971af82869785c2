/**
 * The azure-openai kind against Azure's published inference reference (2024-10-21, a fixture): the
 * adapter's real outgoing requests (URL from the reference's server and path template, api-version,
 * api-key and never Authorization, the body against createChatCompletionRequest with no field it
 * does not name), answers shaped per its response, stream and error schemas (content filter results
 * included) parsed, content-filter refusals as content_policy, Azure's faults classified, the probe.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AZURE_DEFAULT_API_VERSION, createAzureOpenAIAdapter } from '../src/azure-openai/index.ts';
import { ERROR_KINDS, type MockServer, startMockServer } from '../src/mock-server/index.ts';
import type { ChatRequest } from '../src/types.ts';
import { type AzureValidators, loadAzureValidators } from './azure-openai-spec.ts';
import { bodyAnswer, callOptions, expectFailure, KEYS, sseAnswer, userRequest, useScriptedServer } from './helpers.ts';

const KEY = KEYS['azure-openai'];
const DEPLOYMENT = 'gpt-4o-mini-prod';

let server: MockServer;
let azure: AzureValidators;

beforeAll(async () => {
  server = await startMockServer({ record: true });
  azure = loadAzureValidators();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.clearRequests();
  server.clearFaults();
});

function adapter(options: { apiVersion?: string; baseUrl?: string; timeoutMs?: number } = {}) {
  return createAzureOpenAIAdapter({
    apiKey: KEY,
    baseUrl: options.baseUrl ?? server.baseUrls['azure-openai'],
    ...(options.apiVersion ? { apiVersion: options.apiVersion } : {}),
    defaultTimeoutMs: options.timeoutMs ?? 5_000,
  });
}

const conversation: ChatRequest = {
  model: DEPLOYMENT,
  messages: [
    { role: 'developer', content: 'Answer in one word.' },
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello.' },
    { role: 'user', content: 'Say ok' },
  ],
  maxTokens: 64,
  temperature: 0.2,
};

/** The chat URL path the reference defines: its server's path, then the operation's template. */
function referenceChatPath(deployment: string): string {
  const serverPath = new URL(azure.spec.servers[0]!.url.replace('{endpoint}', 'resource.example')).pathname;
  const template = Object.keys(azure.spec.paths).find((p) => azure.spec.paths[p]!.post?.operationId === 'ChatCompletions_Create')!;
  return `${serverPath}${template.replace('{deployment-id}', encodeURIComponent(deployment))}`;
}

describe("azure-openai: outgoing requests against Azure's reference", () => {
  it('the reference itself: chat path template, required api-version query, api-key header scheme', () => {
    const operation = azure.spec.paths['/deployments/{deployment-id}/chat/completions']!.post!;
    expect(operation.operationId).toBe('ChatCompletions_Create');
    expect(operation.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'path', name: 'deployment-id', required: true }),
        expect.objectContaining({ in: 'query', name: 'api-version', required: true }),
      ]),
    );
    expect(azure.spec.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', name: 'api-key', in: 'header' });
    expect(referenceChatPath('d1')).toBe('/openai/deployments/d1/chat/completions');
  });

  it.each([false, true])(
    'chat stream=%s: URL, api-version, api-key (no Authorization), body per createChatCompletionRequest',
    async (stream) => {
      await adapter().chat(conversation, callOptions(stream));
      const requests = server.requests();
      expect(requests).toHaveLength(1);
      const r = requests[0]!;
      expect(r.method).toBe('POST');
      // The mock serves Azure under /azure; the rest is the reference's URL.
      expect(r.path).toBe(`/azure${referenceChatPath(DEPLOYMENT)}`);
      expect(r.query).toBe(`?api-version=${AZURE_DEFAULT_API_VERSION}`);
      expect(r.headers['api-key']).toBe(KEY);
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body).toEqual({
        messages: [
          // The reference has no developer role.
          { role: 'system', content: 'Answer in one word.' },
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.' },
          { role: 'user', content: 'Say ok' },
        ],
        max_completion_tokens: 64,
        temperature: 0.2,
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      });
      expect(azure.request(r.body), JSON.stringify(azure.request.errors)).toBe(true);
    },
  );

  it('the strict request schema has teeth: a developer role, a model field or an unknown field fail it', () => {
    const base = { messages: [{ role: 'user', content: 'x' }] };
    expect(azure.request(base)).toBe(true);
    expect(azure.request({ messages: [{ role: 'developer', content: 'x' }] })).toBe(false);
    expect(azure.request({ ...base, model: DEPLOYMENT })).toBe(false);
    expect(azure.request({ ...base, max_output_tokens: 5 })).toBe(false);
  });

  it('an API version before 2024-09-01: max_tokens and no stream_options, which the mock (like Azure) accepts', async () => {
    const tokens: string[] = [];
    const result = await adapter({ apiVersion: '2024-06-01' }).chat(
      { ...conversation, messages: [{ role: 'user', content: 'old version' }] },
      callOptions(true, { onToken: (t) => tokens.push(t) }),
    );
    expect(result.content).toBe('old version');
    expect(tokens.join('')).toBe('old version');
    const r = server.requests()[0]!;
    expect(r.query).toBe('?api-version=2024-06-01');
    expect(r.body).toEqual({ messages: [{ role: 'user', content: 'old version' }], max_tokens: 64, temperature: 0.2, stream: true });
    expect(azure.request(r.body), JSON.stringify(azure.request.errors)).toBe(true);
  });

  it('the mock refuses what Azure refuses: fields an older version does not know, a role the reference lacks, no api-version', async () => {
    const post = (query: string, body: unknown) =>
      fetch(`${server.baseUrls['azure-openai']}/openai/deployments/${DEPLOYMENT}/chat/completions${query}`, {
        method: 'POST',
        headers: { 'api-key': KEY, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const old = await post('?api-version=2024-06-01', {
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(old.status).toBe(400);
    expect(await old.json()).toMatchObject({ error: { message: 'Unrecognized request argument supplied: stream_options' } });
    const developer = await post('?api-version=2024-10-21', { messages: [{ role: 'developer', content: 'x' }] });
    expect(developer.status).toBe(400);
    expect(await developer.json()).toMatchObject({ error: { code: 'invalid_value', param: 'messages[0].role' } });
    const versionless = await post('', { messages: [{ role: 'user', content: 'x' }] });
    expect(versionless.status).toBe(404);
  });

  it('a base_url that already ends in /openai is the same endpoint', async () => {
    await adapter({ baseUrl: `${server.baseUrls['azure-openai']}/openai/` }).chat(userRequest(DEPLOYMENT, 'hi'), callOptions(false));
    expect(server.requests()[0]!.path).toBe(`/azure/openai/deployments/${DEPLOYMENT}/chat/completions`);
  });

  it('refuses a missing or non-http base_url and a missing key at construction, naming the field and the fix', () => {
    expect(() => createAzureOpenAIAdapter({ apiKey: KEY, baseUrl: undefined })).toThrow(/base_url is required.*Fix: /);
    expect(() => createAzureOpenAIAdapter({ apiKey: KEY, baseUrl: 'ftp://x.example' })).toThrow(/base_url must be http or https.*Fix: /);
    expect(() => createAzureOpenAIAdapter({ apiKey: '', baseUrl: 'https://r.openai.azure.com' })).toThrow(/api_key is required.*Fix: /);
  });
});

describe('azure-openai: probe', () => {
  it('GET /openai/models?api-version with api-key, no Authorization: active', async () => {
    const result = await adapter().probe({ timeoutMs: 10_000 });
    expect(result.state).toBe('active');
    const r = server.requests();
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ method: 'GET', path: '/azure/openai/models', query: `?api-version=${AZURE_DEFAULT_API_VERSION}` });
    expect(r[0]!.headers['api-key']).toBe(KEY);
    expect(r[0]!.headers.authorization).toBeUndefined();
  });

  it.each([
    ['status=503', 'service_unavailable'],
    ['error=auth', 'api_key_invalid'],
    ['hang', 'timeout'],
  ])('[%s] -> %s after exactly one attempt', async (fault, state) => {
    server.setFaults([{ provider: 'azure-openai', endpoint: 'models', fault }]);
    // A short deadline only where the deadline is the point: a loaded machine must not turn a 503 into a timeout.
    const result = await adapter().probe({ timeoutMs: fault === 'hang' ? 300 : 5_000 });
    expect(result.state).toBe(state);
    expect(server.requests()).toHaveLength(1);
  });
});

/** Reads a whole SSE body into its data payloads. */
async function sseData(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .map((frame) => frame.replace(/^data: /, '').trim())
    .filter(Boolean);
}

function rawChat(body: Record<string, unknown>, fault?: string): Promise<Response> {
  return fetch(`${server.baseUrls['azure-openai']}/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-10-21`, {
    method: 'POST',
    headers: { 'api-key': KEY, 'content-type': 'application/json', ...(fault ? { 'x-mock-fault': fault } : {}) },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'one two three' }], ...body }),
  });
}

describe("azure-openai: answers shaped per the reference's response schemas", () => {
  it('a completion: validates, carries prompt_filter_results and content_filter_results, and the adapter reads it', async () => {
    const body = (await (await rawChat({})).json()) as Record<string, unknown>;
    expect(azure.response(body), JSON.stringify(azure.response.errors)).toBe(true);
    expect(body.prompt_filter_results).toEqual([expect.objectContaining({ prompt_index: 0, content_filter_results: expect.any(Object) })]);
    expect((body.choices as Array<Record<string, unknown>>)[0]!.content_filter_results).toMatchObject({ violence: { filtered: false } });

    const result = await adapter().chat(userRequest(DEPLOYMENT, 'one two three'), callOptions(false));
    expect(result).toEqual({
      content: 'one two three',
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 3, totalTokens: 6 },
      model: DEPLOYMENT,
    });
  });

  it('a stream: every chunk validates (the prompt-filter prelude, content with filter results, the usage chunk); the adapter folds it', async () => {
    const events = await sseData(await rawChat({ stream: true, stream_options: { include_usage: true } }));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
    for (const chunk of chunks) expect(azure.chunk(chunk), `${JSON.stringify(chunk)}: ${JSON.stringify(azure.chunk.errors)}`).toBe(true);
    expect(chunks[0]).toMatchObject({ choices: [], prompt_filter_results: [expect.any(Object)] });
    expect(chunks.some((c) => (c.choices as Array<Record<string, unknown>>)[0]?.content_filter_results !== undefined)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 3 } });

    const tokens: string[] = [];
    const result = await adapter().chat(userRequest(DEPLOYMENT, 'one two three'), callOptions(true, { onToken: (t) => tokens.push(t) }));
    expect(tokens).toEqual(['one ', 'two ', 'three']);
    expect(result).toMatchObject({
      content: 'one two three',
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 3, totalTokens: 6 },
    });
  });

  it.each([...ERROR_KINDS])('the error body for %s validates against errorResponse', async (kind) => {
    const response = await rawChat({}, `error=${kind}`);
    expect(response.status).toBeGreaterThanOrEqual(400);
    const body = await response.json();
    expect(azure.error(body), JSON.stringify(azure.error.errors)).toBe(true);
    expect(body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  });

  it('an answer the output filter withheld validates too (finish_reason content_filter, filtered results)', async () => {
    const body = (await (await rawChat({}, 'inband')).json()) as { choices: Array<Record<string, unknown>> };
    expect(azure.response(body), JSON.stringify(azure.response.errors)).toBe(true);
    expect(body.choices[0]).toMatchObject({ finish_reason: 'content_filter', content_filter_results: { violence: { filtered: true } } });
    const events = await sseData(await rawChat({ stream: true }, 'inband'));
    const last = JSON.parse(events.at(-1)!) as Record<string, unknown>;
    expect(azure.chunk(last), JSON.stringify(azure.chunk.errors)).toBe(true);
    expect(last).toMatchObject({ choices: [{ finish_reason: 'content_filter' }] });
  });
});

describe('azure-openai: content filter refusals are content_policy', () => {
  it.each([false, true])('stream=%s: the prompt filter (400, code content_filter, inner ResponsibleAIPolicyViolation)', async (stream) => {
    const err = await expectFailure(adapter().chat(userRequest(DEPLOYMENT, 'x [[mock:error=content_policy]]'), callOptions(stream)));
    expect(err).toMatchObject({ errorClass: 'content_policy', status: 400, provider: 'azure-openai' });
    expect(err.message).toMatch(/content management policy/);
  });

  it.each([false, true])('stream=%s: the output filter (200, finish_reason content_filter)', async (stream) => {
    const err = await expectFailure(adapter().chat(userRequest(DEPLOYMENT, 'x [[mock:inband]]'), callOptions(stream)));
    expect(err.errorClass).toBe('content_policy');
    expect(err.status).toBeUndefined();
    expect(err.message).toMatch(/content_filter/);
  });
});

describe("azure-openai: faults with Azure's bodies and headers", () => {
  it.each([
    { fault: 'error=auth', errorClass: 'api_key_invalid', status: 401 },
    { fault: 'error=forbidden', errorClass: 'forbidden', status: 403 },
    // Azure's own retry-after header (6 s) and rate-limit headers are read.
    { fault: 'error=rate_limit', errorClass: 'rate_limited', status: 429, retryAfterMs: 6_000 },
    { fault: 'status=429;retry-after=2', errorClass: 'rate_limited', status: 429, retryAfterMs: 2_000 },
    { fault: 'error=model_not_found', errorClass: 'model_not_found', status: 404 },
    { fault: 'error=context_length', errorClass: 'context_length_exceeded', status: 400 },
    { fault: 'error=server', errorClass: 'service_unavailable', status: 500 },
    { fault: 'error=unavailable', errorClass: 'service_unavailable', status: 503 },
  ])('[$fault] -> $errorClass', async ({ fault, errorClass, status, retryAfterMs }) => {
    for (const stream of [false, true]) {
      const err = await expectFailure(adapter().chat(userRequest(DEPLOYMENT, `x [[mock:${fault}]]`), callOptions(stream)));
      expect(err).toMatchObject({ errorClass, status });
      if (retryAfterMs !== undefined) expect(err.retryAfterMs).toBe(retryAfterMs);
    }
  });

  it('the rate-limit headers travel on the error', async () => {
    const err = await expectFailure(adapter().chat(userRequest(DEPLOYMENT, 'x [[mock:error=rate_limit]]'), callOptions(false)));
    expect(err.rateLimit).toMatchObject({ 'retry-after': '6', 'x-ratelimit-remaining-requests': '0' });
  });

  it.each([
    { fault: 'hang', stream: false, errorClass: 'timeout' },
    { fault: 'hang-after=1', stream: true, errorClass: 'timeout' },
    { fault: 'cut=2', stream: true, errorClass: 'network_error' },
    { fault: 'eof=2', stream: true, errorClass: 'invalid_response' },
    { fault: 'malformed', stream: false, errorClass: 'invalid_response' },
  ])('[$fault] stream=$stream -> $errorClass', async ({ fault, stream, errorClass }) => {
    const err = await expectFailure(
      adapter().chat(
        userRequest(DEPLOYMENT, `x [[mock:${fault}]]`),
        callOptions(stream, { timeoutMs: errorClass === 'timeout' ? 200 : 5_000 }),
      ),
    );
    expect(err.errorClass).toBe(errorClass);
  });
});

describe('azure-openai: recorded wire shapes the mock does not produce', () => {
  const start = useScriptedServer((url) => adapter({ baseUrl: url }));
  const filter = { hate: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } };

  it('a real stream: prelude with object "" and no id, role chunk, asynchronous filter chunks after the finish', async () => {
    const base = {
      id: 'chatcmpl-AZ1',
      object: 'chat.completion.chunk',
      created: 1_733_000_000,
      model: 'gpt-4o-2024-08-06',
      system_fingerprint: 'fp_04751d0b65',
    };
    const { adapter: azureAdapter, seen } = await start(
      sseAnswer([
        {
          choices: [],
          created: 0,
          id: '',
          model: '',
          object: '',
          prompt_filter_results: [{ prompt_index: 0, content_filter_results: filter }],
        },
        {
          ...base,
          choices: [
            {
              content_filter_results: {},
              delta: { content: '', refusal: null, role: 'assistant' },
              finish_reason: null,
              index: 0,
              logprobs: null,
            },
          ],
          usage: null,
        },
        {
          ...base,
          choices: [{ content_filter_results: filter, delta: { content: 'Hello' }, finish_reason: null, index: 0, logprobs: null }],
          usage: null,
        },
        { ...base, choices: [{ content_filter_results: {}, delta: {}, finish_reason: 'stop', index: 0, logprobs: null }], usage: null },
        {
          choices: [
            {
              content_filter_offsets: { check_offset: 0, start_offset: 0, end_offset: 5 },
              content_filter_results: filter,
              finish_reason: null,
              index: 0,
            },
          ],
          created: 0,
          id: '',
          model: '',
          object: '',
        },
        { ...base, choices: [], usage: { completion_tokens: 1, prompt_tokens: 9, total_tokens: 10 } },
        '[DONE]',
      ]),
    );
    const result = await azureAdapter.chat(userRequest(DEPLOYMENT, 'hi'), callOptions(true));
    expect(result).toEqual({
      content: 'Hello',
      finishReason: 'stop',
      usage: { promptTokens: 9, completionTokens: 1, totalTokens: 10 },
      model: 'gpt-4o-2024-08-06',
    });
    expect(seen[0]!.url).toBe(`/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=${AZURE_DEFAULT_API_VERSION}`);
  });

  it.each([
    ['a JSON body that is not a chat completion', bodyAnswer(200, { object: 'list', data: [] })],
    ['a completion without choices', bodyAnswer(200, { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [] })],
    ['an HTML page with status 200', bodyAnswer(200, '<html><body>Service</body></html>', 'text/html')],
  ])('%s is invalid_response', async (_label, answer) => {
    const { adapter: azureAdapter } = await start(answer);
    const err = await expectFailure(azureAdapter.chat(userRequest(DEPLOYMENT, 'hi'), callOptions(false)));
    expect(err.errorClass).toBe('invalid_response');
  });

  it('a stream whose events are not chat.completion.chunk is invalid_response', async () => {
    const { adapter: azureAdapter } = await start(sseAnswer([{ choices: 'nope' }, '[DONE]']));
    const err = await expectFailure(azureAdapter.chat(userRequest(DEPLOYMENT, 'hi'), callOptions(true)));
    expect(err.errorClass).toBe('invalid_response');
  });
});
