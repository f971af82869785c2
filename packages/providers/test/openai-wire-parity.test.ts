/**
 * Chat calls on the OpenAI wire go out through the thin client, not the `openai` SDK (compat.ts):
 * for every kind's shape of endpoint (bearer key, extra headers, no key, Azure's api-key with the
 * Authorization header dropped, its deployment path and api-version query), what the thin client
 * sends equals what the SDK sends for the same spec: method, path, query, every header but the
 * SDK's own telemetry (user-agent, x-stainless-*), and the body.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { azureApiBaseUrl, azureChatPath, azureHeaders } from '../src/azure-openai/api.ts';
import { type MockServer, type RecordedRequest, startMockServer } from '../src/mock-server/index.ts';
import { chatEndpointOf, createOpenAIClient, createOpenAICompatibleAdapter, type OpenAICompatibleSpec } from '../src/openai/compat.ts';
import { classifyOpenAIError } from '../src/openai/errors.ts';
import { OPENAI_DIALECT, toChatCompletionBody } from '../src/openai/request.ts';
import { OPENROUTER_APP_TITLE, OPENROUTER_APP_URL } from '../src/openrouter/index.ts';
import type { ChatRequest } from '../src/types.ts';
import { callOptions } from './helpers.ts';

let server: MockServer;
beforeAll(async () => {
  server = await startMockServer({ record: true });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.clearRequests());

type Shape = Pick<OpenAICompatibleSpec, 'apiKey' | 'baseURL' | 'defaultHeaders' | 'defaultQuery' | 'chatPath'>;

const SHAPES: Array<[string, () => Shape, string]> = [
  ['openai: bearer key', () => ({ apiKey: 'sk-parity-openai-0001', baseURL: server.baseUrls.openai }), 'gpt-4o-mini'],
  [
    'openrouter: bearer key and app headers',
    () => ({
      apiKey: 'sk-or-parity-0001',
      baseURL: server.baseUrls.openrouter,
      defaultHeaders: { 'HTTP-Referer': OPENROUTER_APP_URL, 'X-Title': OPENROUTER_APP_TITLE },
    }),
    'meta-llama/llama-3.1-8b-instruct',
  ],
  ['openai-compatible: no key at all', () => ({ baseURL: server.baseUrls['openai-compatible'] }), 'local-model'],
  [
    'azure-openai: api-key header, no Authorization, deployment path, api-version query',
    () => ({
      apiKey: '0123456789abcdef0123456789abcdef',
      baseURL: azureApiBaseUrl(server.baseUrls['azure-openai']),
      defaultHeaders: azureHeaders('0123456789abcdef0123456789abcdef'),
      defaultQuery: { 'api-version': '2024-10-21' },
      chatPath: azureChatPath,
    }),
    'gpt-4o-prod',
  ],
];

const request = (model: string): ChatRequest => ({ model, messages: [{ role: 'user', content: 'parity' }], maxTokens: 16 });

/** What a server sees, without the SDK's telemetry and the transports' connection headers. */
function comparable(r: RecordedRequest) {
  const headers = Object.fromEntries(
    Object.entries(r.headers).filter(
      ([name]) => !/^(user-agent|x-stainless-|accept$|accept-encoding$|connection$|content-length$|host$)/.test(name),
    ),
  );
  return { method: r.method, path: r.path, query: r.query, headers, body: r.body };
}

describe.each(SHAPES)('%s', (_name, shapeOf, model) => {
  it('the thin client sends what the SDK sends', async () => {
    const shape = shapeOf();
    const adapter = createOpenAICompatibleAdapter({
      ...shape,
      provider: 'openai',
      dialect: OPENAI_DIALECT,
      models: [model],
      classify: classifyOpenAIError,
      defaultTimeoutMs: 5_000,
    });
    await adapter.chat(request(model), callOptions(false, { timeoutMs: 5_000 }));
    const sdk = createOpenAIClient(shape);
    const body = toChatCompletionBody(request(model), { dialect: OPENAI_DIALECT, stream: false });
    await sdk.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, {
      maxRetries: 0,
      ...(shape.chatPath ? { path: shape.chatPath(model) } : {}),
    });
    const [thin, viaSdk] = server.requests();
    expect(server.requests()).toHaveLength(2);
    expect(comparable(thin!)).toEqual(comparable(viaSdk!));
    expect(thin!.headers['content-type']).toBe('application/json');
    const keyless = !shape.apiKey || shape.defaultHeaders?.Authorization === null;
    expect(thin!.headers.authorization).toBe(keyless ? undefined : `Bearer ${shape.apiKey}`);
    expect(chatEndpointOf(shape)(model).url.startsWith(shape.baseURL)).toBe(true);
  });
});
