/**
 * The `azure-openai` kind: Azure OpenAI's chat completions. URL and headers come from api.ts; the
 * body, response, stream and error handling are the OpenAI adapter's (openai/compat.ts), with the
 * API version's dialect. Azure-only answer fields (prompt_filter_results, content_filter_results)
 * are tolerated; a content-filter refusal (400 `content_filter`, or finish_reason `content_filter`)
 * is content_policy. Probe: GET {base}/openai/models?api-version=..., one attempt, no retries.
 */
import type { Logger } from '@switchyard/shared';
import { createOpenAICompatibleAdapter } from '../openai/compat.ts';
import type { FetchLike } from '../transport/fast-fetch.ts';
import type { ProviderAdapter } from '../types.ts';
import { AZURE_DEFAULT_API_VERSION, azureApiBaseUrl, azureChatPath, azureDialect, azureHeaders } from './api.ts';
import { classifyAzureOpenAIError } from './errors.ts';

export interface AzureOpenAIAdapterOptions {
  /** The resource endpoint, e.g. `https://my-resource.openai.azure.com`. */
  baseUrl: string | undefined;
  /** A resource key (32 hex characters), sent as `api-key`. */
  apiKey: string;
  /** Default AZURE_DEFAULT_API_VERSION. */
  apiVersion?: string | undefined;
  /** Deployment names known up front, for listings; routes name theirs anyway. */
  models?: readonly string[];
  defaultTimeoutMs?: number;
  logger?: Logger | undefined;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
}

export function createAzureOpenAIAdapter(options: AzureOpenAIAdapterOptions): ProviderAdapter {
  if (!options.apiKey) {
    throw new Error(
      "azure-openai: api_key is required. Fix: set api_key to one of the resource's keys (Keys and Endpoint in the Azure portal)",
    );
  }
  const apiVersion = options.apiVersion ?? AZURE_DEFAULT_API_VERSION;
  return createOpenAICompatibleAdapter({
    provider: 'azure-openai',
    dialect: azureDialect(apiVersion),
    apiKey: options.apiKey,
    baseURL: azureApiBaseUrl(options.baseUrl),
    defaultHeaders: azureHeaders(options.apiKey),
    defaultQuery: { 'api-version': apiVersion },
    chatPath: azureChatPath,
    contentFilterRefuses: true,
    models: options.models ?? [],
    classify: classifyAzureOpenAIError,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 20_000,
    logger: options.logger,
    fetch: options.fetch,
  });
}

export { AZURE_DEFAULT_API_VERSION, azureChatPath, azureDialect, supportsStreamUsage } from './api.ts';
export { AZURE_CODE_TABLE, classifyAzureOpenAIError } from './errors.ts';
