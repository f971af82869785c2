/**
 * The Ollama provider: /api/chat over a thin fetch client (NDJSON streaming), probe = GET /api/tags.
 * No key. Why not the `ollama` package: see the package README.
 */
import type { Logger } from '@switchyard/shared';
import { classifyThrown, describeThrown } from '../classify/network.ts';
import { ProviderError } from '../provider-error.ts';
import { defineAdapter } from '../transport/adapter.ts';
import { invalidResponse } from '../transport/attempt.ts';
import type { FetchLike } from '../transport/fast-fetch.ts';
import { joinUrl, readJson, send } from '../transport/http.ts';
import { readNdjson } from '../transport/ndjson.ts';
import type { ProviderAdapter } from '../types.ts';
import { classifyOllamaError } from './errors.ts';
import { toOllamaChatBody } from './request.ts';
import { fromOllamaChat, OllamaChatStream } from './response.ts';

export const OLLAMA_DEFAULT_BASE_URL = 'http://127.0.0.1:11434';
export const OLLAMA_MODELS = ['llama3.2', 'qwen2.5', 'mistral'] as const;

export interface OllamaAdapterOptions {
  baseUrl?: string | undefined;
  defaultTimeoutMs?: number;
  logger?: Logger | undefined;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
}

export function classifyOllamaThrown(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  return new ProviderError({ errorClass: classifyThrown(err), provider: 'ollama', message: `ollama: ${describeThrown(err)}` });
}

export function createOllamaAdapter(options: OllamaAdapterOptions = {}): ProviderAdapter {
  const provider = 'ollama' as const;
  const baseUrl = options.baseUrl ?? OLLAMA_DEFAULT_BASE_URL;
  const chatUrl = joinUrl(baseUrl, '/api/chat');

  return defineAdapter({
    provider,
    models: OLLAMA_MODELS,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 20_000,
    logger: options.logger,
    classify: classifyOllamaThrown,

    async complete({ request, signal }) {
      const response = await send({
        provider,
        method: 'POST',
        url: chatUrl,
        body: toOllamaChatBody(request, { stream: false }),
        signal,
        fetch: options.fetch,
        classify: classifyOllamaError,
      });
      return fromOllamaChat(provider, await readJson(response), request.model);
    },

    async stream({ request, signal, emit }) {
      const response = await send({
        provider,
        method: 'POST',
        url: chatUrl,
        headers: { accept: 'application/x-ndjson' },
        body: toOllamaChatBody(request, { stream: true }),
        signal,
        fetch: options.fetch,
        classify: classifyOllamaError,
      });
      if (!response.body) throw invalidResponse(provider, 'stream response without a body');
      const folder = new OllamaChatStream(provider, emit);
      for await (const line of readNdjson(response.body)) {
        if (folder.push(line)) break;
      }
      return folder.result(request.model);
    },

    async probe(signal) {
      const response = await send({
        provider,
        method: 'GET',
        url: joinUrl(baseUrl, '/api/tags'),
        signal,
        fetch: options.fetch,
        classify: classifyOllamaError,
      });
      const body = await readJson(response);
      if (!body || typeof body !== 'object' || !Array.isArray((body as { models?: unknown }).models)) {
        throw invalidResponse(provider, '/api/tags answer without `models`');
      }
      return undefined;
    },
  });
}

export { classifyOllamaError } from './errors.ts';
export { toOllamaChatBody } from './request.ts';
