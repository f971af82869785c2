/**
 * Owns the thin fetch client used where no SDK fits (Gemini, Ollama, probes): one request, no
 * retries, the attempt's signal, and non-2xx answers turned into classified ProviderErrors. The
 * transport is fastFetch (fast-fetch.ts) unless the request names another.
 */
import type { DeploymentKind } from '@switchyard/shared';
import { parseErrorBody, providerErrorFromHttp } from '../classify/http.ts';
import type { VendorErrorClassifier } from '../classify/vendor.ts';
import { type FetchLike, fastFetch } from './fast-fetch.ts';

export interface HttpRequest {
  provider: DeploymentKind;
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

/**
 * A configured base URL, checked and without trailing slashes; throws naming the kind, the field and
 * the fix when it is missing or not http(s), so a deployment fails at start-up, not on its first call.
 */
export function checkedBaseUrl(kind: DeploymentKind, value: string | undefined, example: string): string {
  const fix = `set base_url, e.g. ${example}`;
  if (!value) throw new Error(`${kind}: base_url is required. Fix: ${fix}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${kind}: base_url "${value}" is not a URL. Fix: ${fix}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${kind}: base_url must be http or https, got "${url.protocol}". Fix: ${fix}`);
  }
  return value.replace(/\/+$/, '');
}
