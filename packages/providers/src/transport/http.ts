/**
 * Owns the thin fetch client used where no SDK fits (Gemini, Ollama, probes): one request, no
 * retries, the attempt's signal, and non-2xx answers turned into classified ProviderErrors. The
 * transport is fastFetch (fast-fetch.ts) unless the request names another.
 */
import type { ProviderName } from '@switchyard/shared';
import { parseErrorBody, providerErrorFromHttp } from '../classify/http.ts';
import type { VendorErrorClassifier } from '../classify/vendor.ts';
import { type FetchLike, fastFetch } from './fast-fetch.ts';

export interface HttpRequest {
  provider: ProviderName;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal: AbortSignal;
  classify: VendorErrorClassifier;
  fetch?: FetchLike | undefined;
}

/** Error bodies are read up to this size: enough for any vendor's JSON, bounded against a runaway body. */
const MAX_ERROR_BODY_CHARS = 64 * 1024;

/** Sends the request; resolves with a 2xx Response (body unread), rejects with ProviderError for other statuses. */
export async function send(request: HttpRequest): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const response = await (request.fetch ?? fastFetch)(request.url, {
    method: request.method,
    headers,
    ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
    signal: request.signal,
  });
  if (response.ok) return response;
  const text = (await response.text()).slice(0, MAX_ERROR_BODY_CHARS);
  throw providerErrorFromHttp({
    provider: request.provider,
    status: response.status,
    headers: response.headers,
    body: parseErrorBody(text),
    classify: request.classify,
  });
}

/** Reads a 2xx body as JSON; a body that is not JSON throws SyntaxError (invalid_response). */
export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  return JSON.parse(text) as unknown;
}

/** Joins a base URL (no trailing slash needed) and a path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
