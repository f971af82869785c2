/**
 * The OpenRouter provider: OpenAI wire format over the official `openai` SDK with OpenRouter's app
 * attribution headers (HTTP-Referer, X-Title), its own error codes and in-band errors, and a probe of
 * the key endpoint that reports remaining credits.
 */
import type { Logger } from '@switchyard/shared';
import { createOpenAICompatibleAdapter } from '../openai/compat.ts';
import { OPENROUTER_DIALECT } from '../openai/request.ts';
import type { FetchLike } from '../transport/fast-fetch.ts';
import type { ProviderAdapter } from '../types.ts';
import { classifyOpenRouterError } from './errors.ts';
import { openRouterKeyProbe } from './probe.ts';

export const OPENROUTER_DEFAULT_BASE_URL = 'https://openrouter.ai/api/v1';
export const OPENROUTER_MODELS = [
  'meta-llama/llama-3.1-8b-instruct',
  'openai/gpt-4o-mini',
  'anthropic/claude-sonnet-4.5',
  'google/gemini-2.5-flash',
  'mistralai/mistral-small-3.2-24b-instruct',
] as const;

export interface OpenRouterAdapterOptions {
  apiKey: string;
  baseUrl?: string | undefined;
  defaultTimeoutMs?: number;
  logger?: Logger | undefined;
  /** Sent as HTTP-Referer: OpenRouter attributes traffic to this app URL. */
  appUrl?: string;
  /** Sent as X-Title: the app name OpenRouter shows. */
  appTitle?: string;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
}

export const OPENROUTER_APP_URL = 'https://github.com/switchyard/switchyard';
export const OPENROUTER_APP_TITLE = 'Switchyard';

export function createOpenRouterAdapter(options: OpenRouterAdapterOptions): ProviderAdapter {
  return createOpenAICompatibleAdapter({
    provider: 'openrouter',
    dialect: OPENROUTER_DIALECT,
    apiKey: options.apiKey,
    baseURL: options.baseUrl ?? OPENROUTER_DEFAULT_BASE_URL,
    models: OPENROUTER_MODELS,
    classify: classifyOpenRouterError,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 20_000,
    logger: options.logger,
    fetch: options.fetch,
    defaultHeaders: {
      'HTTP-Referer': options.appUrl ?? OPENROUTER_APP_URL,
      'X-Title': options.appTitle ?? OPENROUTER_APP_TITLE,
    },
    probe: openRouterKeyProbe,
  });
}

export { classifyOpenRouterError, OPENROUTER_STATUS_TABLE, OPENROUTER_STRING_CODES } from './errors.ts';
