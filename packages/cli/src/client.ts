/**
 * Owns talking to a Switchyard API over HTTP: the Bearer key (never printed), the error envelope
 * turned into ApiError with the server's message, network failures turned into a message that
 * names the URL and the fix, and retries (with the server's retry-after) for the answers where
 * retrying is safe: 429, 502/503/504 and connection errors. POST /v1/jobs is retried only with an
 * Idempotency-Key, so a retry can never submit a job twice.
 */
import type { JobRequest, JobView } from '@switchyard/shared';
import { parseSse, type SseEvent } from './sse.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

export interface ClientOptions {
  url: string;
  key?: string | undefined;
  /** Attempts for retryable failures (429, 502-504, network). Default 6. */
  attempts?: number;
  /** Per-request deadline on top of any long-poll wait. Default 30 s. */
  timeoutMs?: number;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Submitted {
  id: string;
  status: JobView['status'];
  /** The server already had a job for this Idempotency-Key. */
  replayed: boolean;
}

const RETRYABLE = new Set([429, 502, 503, 504]);
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export class SwitchyardClient {
  readonly baseUrl: string;
  private readonly key: string | undefined;
  private readonly attempts: number;
  private readonly timeoutMs: number;

  constructor(options: ClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.key = options.key || undefined;
    this.attempts = options.attempts ?? 6;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', ...(this.key ? { authorization: `Bearer ${this.key}` } : {}), ...extra };
  }

  /** One request, retried when safe; 4xx/5xx answers that are final throw ApiError. */
  async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; retry?: boolean; waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<ApiResponse<T>> {
    const retry = options.retry ?? method === 'GET';
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= (retry ? this.attempts : 1); attempt++) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      let res: Response;
      try {
        const signals = [AbortSignal.timeout(this.timeoutMs + (options.waitMs ?? 0))];
        if (options.signal) signals.push(options.signal);
        res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: this.headers({ ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers }),
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
          signal: AbortSignal.any(signals),
        });
      } catch (err) {
        if (options.signal?.aborted) throw err;
        lastError = new NetworkError(networkMessage(this.baseUrl, err));
        await sleep(backoff(attempt), options.signal);
        continue;
      }
      const text = await res.text();
      const body = parseBody(text);
      if (res.ok) return { status: res.status, headers: res.headers, body: body as T };
      const error = new ApiError(res.status, errorMessage(res.status, body, text), body);
      if (!RETRYABLE.has(res.status)) throw error;
      lastError = error;
      const after = Number(res.headers.get('retry-after'));
      await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : backoff(attempt), options.signal);
    }
    throw lastError ?? new Error('request failed');
  }

  async submit(job: JobRequest, idempotencyKey?: string, signal?: AbortSignal): Promise<Submitted> {
    const res = await this.request<{ id: string; status: JobView['status'] }>('POST', '/v1/jobs', {
      body: job,
      headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
      retry: Boolean(idempotencyKey),
      ...(signal ? { signal } : {}),
    });
    return { id: res.body.id, status: res.body.status, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  /** The job as it stands, or with waitMs > 0 once final (or when the wait runs out). */
  async job(id: string, waitMs = 0, signal?: AbortSignal): Promise<JobView> {
    const query = waitMs > 0 ? `?wait_ms=${Math.round(waitMs)}` : '';
    const res = await this.request<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}${query}`, { waitMs, ...(signal ? { signal } : {}) });
    return res.body;
  }

  /**
   * Long-polls until the job is final. A `completed` view without its result (a read that raced
   * the job's completion) is read again, so callers always get the answer with the status.
   */
  async waitFinal(id: string, signal?: AbortSignal, pollMs = 25_000): Promise<JobView> {
    let view = await this.job(id, pollMs, signal);
    while (!isFinalStatus(view.status)) view = await this.job(id, pollMs, signal);
    for (let reread = 1; view.status === 'completed' && !view.result && reread <= 5; reread++) {
      await sleep(50 * reread, signal);
      view = await this.job(id, 0, signal);
    }
    return view;
  }

  async providers(forceRefresh = false): Promise<unknown> {
    const res = await this.request<unknown>('GET', `/v1/providers/status${forceRefresh ? '?force_refresh=true' : ''}`, {
      waitMs: forceRefresh ? 15_000 : 0,
    });
    return res.body;
  }

  /**
   * Opens GET /v1/jobs/:id/events. Null when this server has no event stream (404 with no such
   * route, or an answer that is not text/event-stream): the caller falls back to long-polling.
   */
  async events(id: string, signal: AbortSignal): Promise<AsyncGenerator<SseEvent> | null> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/v1/jobs/${encodeURIComponent(id)}/events`, {
        headers: this.headers({ accept: 'text/event-stream' }),
        signal,
      });
    } catch (err) {
      throw new NetworkError(networkMessage(this.baseUrl, err));
    }
    const type = res.headers.get('content-type') ?? '';
    if (res.ok && type.includes('text/event-stream') && res.body) return parseSse(res.body);
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403) throw new ApiError(res.status, errorMessage(res.status, null, ''), null);
    return null;
  }
}

function isFinalStatus(status: JobView['status']): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

function parseBody(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorMessage(status: number, body: unknown, text: string): string {
  const error = (body as { error?: { message?: unknown; type?: unknown } } | null)?.error;
  if (error && typeof error.message === 'string') return `${status} ${String(error.type ?? 'error')}: ${error.message}`;
  if (status === 401) return '401: the API wants a key. Fix: pass --key or set SWITCHYARD_API_KEY.';
  return `${status}: ${text.slice(0, 200) || 'no body'}`;
}

function networkMessage(url: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (err as Error).message;
  if ((err as Error).name === 'TimeoutError') return `the API at ${url} did not answer in time`;
  return `cannot reach the API at ${url} (${reason}). Fix: start it (pnpm start), or pass --url / set SWITCHYARD_URL.`;
}

/** 250 ms, 500 ms, 1 s... up to 8 s, with jitter. */
export function backoff(attempt: number): number {
  const base = Math.min(8_000, 250 * 2 ** (attempt - 1));
  return Math.round(base / 2 + Math.random() * (base / 2));
}
