/**
 * The Anthropic provider: the Messages API over the official `@anthropic-ai/sdk` (retries off), which
 * sends `anthropic-version` (2026-10-21 for SDK 1.x). The key goes out as `x-api-key`, the header of
 * Anthropic's API reference; the SDK's default Bearer header is removed so the key is sent once. The
 * SSE body is read here (see response.ts) so a stream without message_stop is a failure.
 * Requests go through the client's generic `post` rather than `messages.create`, which adds nothing
 * for plain text turns but prints a console warning per call for models it deems deprecated.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { Logger } from '@switchyard/shared';
import { registerSecret } from '@switchyard/shared';
import { parseErrorBody, providerErrorFromHttp } from '../classify/http.ts';
import { classifyThrown, describeThrown } from '../classify/network.ts';
import { ProviderError } from '../provider-error.ts';
import { defineAdapter } from '../transport/adapter.ts';
import { invalidResponse } from '../transport/attempt.ts';
import { type FetchLike, fastFetch } from '../transport/fast-fetch.ts';
import { readSse } from '../transport/sse.ts';
import type { ProviderAdapter } from '../types.ts';
import { classifyAnthropicError } from './errors.ts';
import { toMessagesBody } from './request.ts';
import { fromMessage, MessageStream } from './response.ts';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_MODELS = [
  'claude-sonnet-5-5',
  'claude-haiku-5-5',
  'claude-opus-5-5',
  'claude-sonnet-4-6',
  'claude-haiku-4-5',
] as const;

export interface AnthropicAdapterOptions {
  apiKey: string;
  baseUrl?: string | undefined;
  defaultTimeoutMs?: number;
  logger?: Logger | undefined;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
}

const SDK_TIMEOUT_SLACK_MS = 5_000;

export function classifyAnthropicSdkError(err: unknown): ProviderError {
  const provider = 'anthropic';
  if (err instanceof ProviderError) return err;
  if (err instanceof Anthropic.APIUserAbortError)
    return new ProviderError({ errorClass: 'aborted', provider, message: 'anthropic: aborted' });
  if (err instanceof Anthropic.APIConnectionTimeoutError)
    return new ProviderError({ errorClass: 'timeout', provider, message: 'anthropic: request timed out' });
  if (err instanceof Anthropic.APIConnectionError) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    return new ProviderError({ errorClass: classifyThrown(cause), provider, message: `anthropic: ${describeThrown(cause)}` });
  }
  if (err instanceof Anthropic.APIError && typeof err.status === 'number') {
    // Anthropic's APIError.error is the whole body ({type:"error", error:{...}}).
    const body = err.error ?? err.message.replace(/^\d{3}\s*/, '');
    return providerErrorFromHttp({ provider, status: err.status, headers: err.headers, body, classify: classifyAnthropicError });
  }
  return new ProviderError({ errorClass: classifyThrown(err), provider, message: `anthropic: ${describeThrown(err)}` });
}

export function createAnthropicAdapter(options: AnthropicAdapterOptions): ProviderAdapter {
  registerSecret(options.apiKey);
  const provider = 'anthropic' as const;
  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL,
    maxRetries: 0,
    fetch: options.fetch ?? fastFetch,
    logLevel: 'off',
    defaultHeaders: { 'x-api-key': options.apiKey, Authorization: null },
  });

  const requestOptions = (signal: AbortSignal, timeoutMs: number) => ({ signal, timeout: timeoutMs + SDK_TIMEOUT_SLACK_MS, maxRetries: 0 });

  return defineAdapter({
    provider,
    models: ANTHROPIC_MODELS,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 20_000,
    logger: options.logger,
    classify: classifyAnthropicSdkError,

    async complete({ request, signal, timeoutMs }) {
      const body = toMessagesBody(request, { stream: false });
      const message: unknown = await client.messages.create(
        body as Anthropic.MessageCreateParamsNonStreaming,
        requestOptions(signal, timeoutMs),
      );
      return fromMessage(provider, message, request.model);
    },

    async stream({ request, signal, timeoutMs, emit }) {
      const body = toMessagesBody(request, { stream: true });
      const response = await client.post('/v1/messages', { body, ...requestOptions(signal, timeoutMs), stream: true }).asResponse();
      if (!response.body) throw invalidResponse(provider, 'stream response without a body');
      if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
        const parsed = parseErrorBody(await response.text());
        if (parsed && typeof parsed === 'object' && (parsed as { type?: unknown }).type === 'error') {
          throw providerErrorFromHttp({
            provider,
            status: undefined,
            body: parsed,
            classify: classifyAnthropicError,
            inBand: 'a 200 body',
          });
        }
        throw invalidResponse(provider, 'stream request answered without text/event-stream');
      }
      const folder = new MessageStream(provider, emit);
      for await (const event of readSse(response.body)) {
        if (folder.push(event)) break;
      }
      return folder.result(request.model);
    },

    async probe(signal, timeoutMs) {
      await client.models.list({ limit: 1 }, requestOptions(signal, timeoutMs));
      return undefined;
    },
  });
}

export { ANTHROPIC_ERROR_CODE_TABLE, ANTHROPIC_TYPE_TABLE, classifyAnthropicError } from './errors.ts';
export { ANTHROPIC_DEFAULT_MAX_TOKENS, toMessagesBody } from './request.ts';
