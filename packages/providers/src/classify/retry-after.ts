/**
 * Owns reading back-off hints from response headers: `retry-after-ms`, `retry-after` as seconds or as
 * an HTTP date, and which rate-limit headers are worth keeping on the error for the router and status.
 */

export type HeaderSource = Headers | Record<string, string | string[] | number | undefined> | undefined;

/** Case-insensitive header read over fetch Headers and Node's plain header objects. */
export function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() !== lower || value === undefined) continue;
    return Array.isArray(value) ? value.join(', ') : String(value);
  }
  return undefined;
}

function headerEntries(headers: HeaderSource): Array<[string, string]> {
  if (!headers) return [];
  if (typeof (headers as Headers).entries === 'function' && typeof (headers as Headers).get === 'function') {
    return [...(headers as Headers).entries()];
  }
  return Object.entries(headers as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)]);
}

/** A day: anything longer is a vendor bug or a date typo, and would park a provider for good. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Milliseconds to wait, or undefined when the headers carry no usable hint.
 * `retry-after-ms` wins (more precise, sent by OpenAI-style servers); `retry-after` is delta-seconds
 * (decimals tolerated) or an HTTP date, measured against `now`.
 */
export function parseRetryAfter(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return clamp(Number(ms));
  const raw = headerValue(headers, 'retry-after')?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return clamp(Number(raw) * 1000);
  // HTTP dates always name a weekday or month; refusing bare numbers-with-junk avoids Date.parse guesses.
  if (!/[a-z]/i.test(raw)) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return clamp(at - now);
}

/** Google's RetryInfo.retryDelay is a protobuf Duration in JSON: "37s", "1.5s". */
export function parseDurationSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? clamp(Number(match[1]) * 1000) : undefined;
}

function clamp(ms: number): number {
  return Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS);
}

const RATE_LIMIT_HEADER = /^(retry-after(-ms)?|x-ratelimit-.+|anthropic-ratelimit-.+|ratelimit(-.+)?|x-ratelimit)$/;

/** The vendor's rate-limit headers as received (names lower-cased), or undefined when there are none. */
export function rateLimitHeaders(headers: HeaderSource): Record<string, string> | undefined {
  const kept: Record<string, string> = {};
  for (const [name, value] of headerEntries(headers)) {
    if (RATE_LIMIT_HEADER.test(name.toLowerCase())) kept[name.toLowerCase()] = value;
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}
