/**
 * The Gemini provider: generateContent / streamGenerateContent?alt=sse over a thin fetch client, the
 * key in the x-goog-api-key header (never in the URL, where it would reach access logs). Why not
 * @google/genai: see the package README.
 */
import type { Logger } from '@switchyard/shared';
import { registerSecret } from '@switchyard/shared';
import { classifyThrown, describeThrown } from '../classify/network.ts';
import { ProviderError } from '../provider-error.ts';
import { defineAdapter } from '../transport/adapter.ts';
import { invalidResponse } from '../transport/attempt.ts';
import type { FetchLike } from '../transport/fast-fetch.ts';
import { readJson, send } from '../transport/http.ts';
import { readSse } from '../transport/sse.ts';
import type { ProviderAdapter } from '../types.ts';
import { classifyGeminiError } from './errors.ts';
import { geminiApiRoot, generateContentUrl, toGenerateContentBody } from './request.ts';
import { fromGenerateContent, GenerateContentStream } from './response.ts';

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';
export const GEMINI_MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.5-flash-lite'] as const;

export interface GeminiAdapterOptions {
  apiKey: string;
  baseUrl?: string | undefined;
  defaultTimeoutMs?: number;
  logger?: Logger | undefined;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
}

export function classifyGeminiThrown(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  return new ProviderError({ errorClass: classifyThrown(err), provider: 'gemini', message: `gemini: ${describeThrown(err)}` });
}

export function createGeminiAdapter(options: GeminiAdapterOptions): ProviderAdapter {
  registerSecret(options.apiKey);
  const provider = 'gemini' as const;
  const baseUrl = options.baseUrl ?? GEMINI_DEFAULT_BASE_URL;
  const headers = { 'x-goog-api-key': options.apiKey };

  return defineAdapter({
    provider,
    models: GEMINI_MODELS,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 20_000,
    logger: options.logger,
    classify: classifyGeminiThrown,

    async complete({ request, signal }) {
      const response = await send({
        provider,
        method: 'POST',
        url: generateContentUrl(baseUrl, request.model, false),
        headers,
        body: toGenerateContentBody(request),
        signal,
        fetch: options.fetch,
        classify: classifyGeminiError,
      });
      return fromGenerateContent(provider, await readJson(response), request.model);
    },

    async stream({ request, signal, emit }) {
      const response = await send({
        provider,
        method: 'POST',
        url: generateContentUrl(baseUrl, request.model, true),
        headers: { ...headers, accept: 'text/event-stream' },
        body: toGenerateContentBody(request),
        signal,
        fetch: options.fetch,
        classify: classifyGeminiError,
      });
      if (!response.body) throw invalidResponse(provider, 'stream response without a body');
      if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
        // Without alt=sse honoured the answer is a JSON array of chunks; either way it is not the promised stream.
        throw invalidResponse(provider, 'stream request answered without text/event-stream');
      }
      const folder = new GenerateContentStream(provider, emit);
      // No terminator event in this format: the body's end after a finishReason is the end.
      for await (const event of readSse(response.body)) folder.push(event);
      return folder.result(request.model);
    },

    async probe(signal) {
      const response = await send({
        provider,
        method: 'GET',
        url: `${geminiApiRoot(baseUrl)}/models?pageSize=1`,
        headers,
        signal,
        fetch: options.fetch,
        classify: classifyGeminiError,
      });
      const body = await readJson(response);
      if (!body || typeof body !== 'object' || !Array.isArray((body as { models?: unknown }).models)) {
        throw invalidResponse(provider, 'models list without `models`');
      }
      return undefined;
    },
  });
}

export { classifyGeminiError, GEMINI_REASON_TABLE, GEMINI_STATUS_TABLE } from './errors.ts';
export { generateContentUrl, toGenerateContentBody } from './request.ts';
