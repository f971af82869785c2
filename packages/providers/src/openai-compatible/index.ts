/**
 * The `openai-compatible` kind: any server that speaks OpenAI's chat completions (vLLM, llama.cpp's
 * server, LM Studio, Groq, Together, DeepSeek, Mistral). The OpenAI adapter's request, response,
 * stream and error handling (openai/compat.ts) with the common-subset dialect; the key is optional
 * (local servers often have none, and then no Authorization header is sent); probe = GET /models.
 */
import type { Logger } from '@switchyard/shared';
import { createOpenAICompatibleAdapter } from '../openai/compat.ts';
import { COMPATIBLE_DIALECT } from '../openai/request.ts';
import type { FetchLike } from '../transport/fast-fetch.ts';
import { checkedBaseUrl } from '../transport/http.ts';
import type { ProviderAdapter } from '../types.ts';
import { nestingErrorBodies } from './error-body.ts';
import { classifyOpenAICompatibleError } from './errors.ts';

export interface OpenAICompatibleServerOptions {
  /** The server's OpenAI base URL, the part before `/chat/completions`, e.g. `http://gpu-box:8000/v1`. */
  baseUrl: string | undefined;
  /** Sent as `Authorization: Bearer` when given. */
  apiKey?: string | undefined;
  /** Models it is known to serve, for listings; routes name theirs anyway. */
  models?: readonly string[];
  defaultTimeoutMs?: number;
  logger?: Logger | undefined;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
}

export function createOpenAICompatibleServerAdapter(options: OpenAICompatibleServerOptions): ProviderAdapter {
  return createOpenAICompatibleAdapter({
    provider: 'openai-compatible',
    dialect: COMPATIBLE_DIALECT,
    apiKey: options.apiKey,
    baseURL: checkedBaseUrl('openai-compatible', options.baseUrl, 'http://gpu-box:8000/v1'),
    models: options.models ?? [],
    classify: classifyOpenAICompatibleError,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 20_000,
    logger: options.logger,
    fetch: nestingErrorBodies(options.fetch),
  });
}

export { classifyOpenAICompatibleError } from './errors.ts';
