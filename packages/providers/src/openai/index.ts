/**
 * The OpenAI provider: chat completions on the OpenAI wire (compat.ts: the thin client, the SDK for the probe), probe = GET /models.
 */
import type { Logger } from '@switchyard/shared';
import type { FetchLike } from '../transport/fast-fetch.ts';
import type { ProviderAdapter } from '../types.ts';
import { createOpenAICompatibleAdapter } from './compat.ts';
import { classifyOpenAIError } from './errors.ts';
import { OPENAI_DIALECT } from './request.ts';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const OPENAI_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o4-mini'] as const;

export interface OpenAIAdapterOptions {
  apiKey: string;
  baseUrl?: string | undefined;
  defaultTimeoutMs?: number;
  logger?: Logger | undefined;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
}

export function createOpenAIAdapter(options: OpenAIAdapterOptions): ProviderAdapter {
  return createOpenAICompatibleAdapter({
    provider: 'openai',
    dialect: OPENAI_DIALECT,
    apiKey: options.apiKey,
    baseURL: options.baseUrl ?? OPENAI_DEFAULT_BASE_URL,
    models: OPENAI_MODELS,
    classify: classifyOpenAIError,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 20_000,
    logger: options.logger,
    fetch: options.fetch,
  });
}

export { classifyOpenAIError, OPENAI_CODE_TABLE } from './errors.ts';
export { toChatCompletionBody } from './request.ts';
