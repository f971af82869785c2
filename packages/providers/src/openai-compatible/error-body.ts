/**
 * Owns one quirk of OpenAI-compatible servers: vLLM and Mistral answer failures with the error
 * object at the top level (`{"object":"error","message","type","code"}`), where OpenAI nests it
 * under `error`. The SDK reads only `error` and would drop the message, leaving the status alone to
 * classify (a context-length 400 would look like any bad request). This fetch wrapper nests such a
 * body the way OpenAI does, on failed answers only: successes pass through untouched.
 */
import { type FetchLike, fastFetch } from '../transport/fast-fetch.ts';

/** Bounded like the thin client's error reads: enough for any error JSON. */
const MAX_ERROR_BODY_CHARS = 64 * 1024;

function isTopLevelError(value: unknown): value is Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value) || 'error' in value) return false;
  const v = value as Record<string, unknown>;
  return v.object === 'error' || typeof v.message === 'string';
}

export function nestingErrorBodies(fetch: FetchLike = fastFetch): FetchLike {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.ok) return response;
    const text = (await response.text()).slice(0, MAX_ERROR_BODY_CHARS);
    let body = text;
    try {
      const parsed: unknown = JSON.parse(text);
      if (isTopLevelError(parsed)) body = JSON.stringify({ error: parsed });
    } catch {
      // Not JSON (a proxy's HTML page): passed on as it came.
    }
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
  };
}
