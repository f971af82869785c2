/**
 * Owns Azure OpenAI's URL and headers (Azure's inference reference, ChatCompletions_Create):
 * `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version={version}` with the
 * key in `api-key`, never in `Authorization`. The route target's model is the deployment name. Also
 * which body fields an API version knows (its dialect).
 */
import type { OpenAIDialect } from '../openai/request.ts';
import { checkedBaseUrl } from '../transport/http.ts';

/** The GA version whose published reference the tests validate against. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/** `stream_options` and `max_completion_tokens` arrived with 2024-09-01-preview; older versions reject both. */
const STREAM_USAGE_SINCE = '2024-09-01';

/**
 * `https://res.openai.azure.com` -> `https://res.openai.azure.com/openai`, the SDK's base URL. A
 * base_url that already ends in `/openai` (as Azure's portal shows some endpoints) is taken as is.
 */
export function azureApiBaseUrl(baseUrl: string | undefined): string {
  const endpoint = checkedBaseUrl('azure-openai', baseUrl, 'https://my-resource.openai.azure.com');
  return endpoint.endsWith('/openai') ? endpoint : `${endpoint}/openai`;
}

/** The chat path under the base URL for one deployment. */
export function azureChatPath(deployment: string): string {
  return `/deployments/${encodeURIComponent(deployment)}/chat/completions`;
}

/** Headers on every request: the key as `api-key`; the SDK's `Authorization: Bearer` removed. */
export function azureHeaders(apiKey: string): Record<string, string | null> {
  return { 'api-key': apiKey, Authorization: null };
}

/** Whether an API version ("2024-10-21", "2024-08-01-preview") knows stream_options and max_completion_tokens. */
export function supportsStreamUsage(apiVersion: string): boolean {
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(apiVersion)?.[1];
  // Anything not dated ("preview", "latest") is a moving target that has both.
  return date === undefined || date >= STREAM_USAGE_SINCE;
}

export function azureDialect(apiVersion: string): OpenAIDialect {
  const modern = supportsStreamUsage(apiVersion);
  return {
    // The 2024-10-21 reference knows system, user, assistant, tool and function roles only.
    developerRole: false,
    maxTokensField: modern ? 'max_completion_tokens' : 'max_tokens',
    streamUsage: modern,
    modelInBody: false,
  };
}
