/**
 * Owns the chaos suite's HTTP client: every call has a deadline, answers with status, headers,
 * body and elapsed milliseconds, and every response (headers and body) goes through the secret
 * scanner. A call that gets no answer (refused, reset, deadline) comes back as status 0 with the
 * error, never as a throw, so load loops can count outcomes.
 */
import { AUTH, scanner } from './secrets.ts';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  ms: number;
  /** Set when no HTTP answer came: the error's name and message. */
  error?: string;
  json<T = any>(): T;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** Raw body, sent as is. */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Default true: send the suite's client key. */
  auth?: boolean;
  timeoutMs?: number;
}

export async function call(baseUrl: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(options.auth === false ? {} : AUTH), ...options.headers };
  let body: string | Uint8Array | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const started = performance.now();
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    const responseHeaders = Object.fromEntries(res.headers.entries());
    scanner.response(`${JSON.stringify(responseHeaders)}\n${text}`, `${options.method ?? 'GET'} ${path.split('?')[0]}`);
    return { status: res.status, headers: responseHeaders, text, ms, json: () => JSON.parse(text) };
  } catch (err) {
    const ms = performance.now() - started;
    const e = err as Error;
    return {
      status: 0,
      headers: {},
      text: '',
      ms,
      error: `${e.name}: ${e.message}${(e.cause as Error | undefined)?.message ? ` (${(e.cause as Error).message})` : ''}`,
      json: () => {
        throw new Error(`no answer: ${e.message}`);
      },
    };
  }
}

/** Runs `fn` over `items` with at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(runners);
  return results;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** p-th percentile (0-100) of `values` (nearest rank); null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const round = (n: number | null | undefined, digits = 0): number | null =>
  n === null || n === undefined || !Number.isFinite(n) ? null : Number(n.toFixed(digits));

export const mb = (bytes: number | null | undefined): number | null =>
  bytes === null || bytes === undefined ? null : round(bytes / 1048576, 1);

/** A load size from the environment (for a quick local run), else `fallback`: what CI runs. */
export function sizeFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
