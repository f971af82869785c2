/**
 * Owns the package's HTTP transport: `fastFetch`, a fetch-compatible function on undici's `request`
 * API (one keep-alive connection pool per origin), handed to both SDKs as their `fetch` and used by
 * the thin client. Node's global fetch is undici too, but its WHATWG layer (Request, Headers guards,
 * the fetch controller, web streams end to end) costs ~0.3 ms CPU per call; `request` skips it and the
 * answer is wrapped in a real `Response` whose body is a small web stream over the socket's Node
 * stream. The package README has the figures.
 *
 * Kept from fetch, because classification and the tests depend on it:
 * - an abort (before the request, while waiting, mid-body) rejects, or errors the body, with
 *   `signal.reason`, and closes the connection; cancelling the body closes it too;
 * - a failure without an answer rejects with `TypeError('fetch failed', { cause })`, the socket or
 *   DNS error (its `code`) as the cause; a body cut mid-way errors with `TypeError('terminated', { cause })`.
 *   Neither message carries the URL (Node's own messages name host and port only);
 * - `accept-encoding` is sent as fetch sends it unless the caller sets one, and gzip / deflate / br
 *   answers are decoded;
 * - response headers as sent (multi-valued ones appended).
 * Not kept: redirects are returned as they are (provider APIs do not redirect), `response.url` is ''.
 * A `Request` object or a body other than a string or bytes goes to the global fetch unchanged.
 */
import { STATUS_CODES } from 'node:http';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, request } from 'undici';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** One pool per origin, kept alive between calls: undici's defaults, the same as the global fetch's. */
const dispatcher = new Agent();

/** Statuses whose Response must have a null body (the Response constructor throws otherwise). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

type UndiciMethod = NonNullable<Parameters<typeof request>[1]>['method'];

export const fastFetch: FetchLike = async (input, init = {}) => {
  const body = init.body;
  if (typeof input !== 'string' && !(input instanceof URL)) return fetch(input, init);
  if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array) && !(body instanceof ArrayBuffer)) {
    return fetch(input, init);
  }
  const url = typeof input === 'string' ? input : input.href;
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw signal.reason;
  const method = (init.method ?? 'GET').toUpperCase();

  let answer: Awaited<ReturnType<typeof request>>;
  try {
    answer = await request(url, {
      method: method as UndiciMethod,
      headers: requestHeaders(init.headers, url),
      body: body instanceof ArrayBuffer ? new Uint8Array(body) : (body ?? null),
      ...(signal ? { signal } : {}),
      dispatcher,
    });
  } catch (err) {
    throw signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err });
  }

  const { statusCode, headers } = answer;
  let source: Readable = answer.body;
  try {
    const empty = method === 'HEAD' || NULL_BODY_STATUSES.has(statusCode);
    if (empty) source.resume();
    else source = decoded(source, headers['content-encoding']);
    const response = new Response(empty ? null : webBody(source, signal), {
      status: statusCode,
      statusText: STATUS_CODES[statusCode] ?? '',
    });
    for (const name in headers) {
      const value = headers[name];
      if (typeof value === 'string') response.headers.append(name, value);
      else if (value) for (const one of value) response.headers.append(name, one);
    }
    return response;
  } catch (err) {
    source.destroy();
    throw err;
  }
};

/** The caller's headers as undici's flat [name, value, ...] list, plus fetch's default accept-encoding. */
function requestHeaders(init: RequestInit['headers'], url: string): string[] {
  const flat: string[] = [];
  let encodingSet = false;
  const add = (name: string, value: string) => {
    flat.push(name, value);
    if (!encodingSet && name.length === 15 && name.toLowerCase() === 'accept-encoding') encodingSet = true;
  };
  if (init instanceof Headers || Array.isArray(init)) for (const [name, value] of init) add(name as string, value as string);
  else if (init) for (const name in init) add(name, init[name] as string);
  // What the global fetch sends, so a provider compresses (or not) exactly as it did before.
  if (!encodingSet) flat.push('accept-encoding', url.startsWith('https:') ? 'br, gzip, deflate' : 'gzip, deflate');
  return flat;
}

const SYNC = { flush: constants.Z_SYNC_FLUSH, finishFlush: constants.Z_SYNC_FLUSH };
const DECODERS = new Map<string, () => Transform>([
  ['gzip', () => createGunzip(SYNC)],
  ['x-gzip', () => createGunzip(SYNC)],
  ['deflate', () => createInflate(SYNC)],
  ['br', () => createBrotliDecompress({ flush: constants.BROTLI_OPERATION_FLUSH, finishFlush: constants.BROTLI_OPERATION_FLUSH })],
]);

/**
 * The body decoded as fetch decodes it: codings undone last-applied first; an unknown coding leaves
 * the body as it is. Sync flush, so a compressed SSE stream still arrives event by event.
 */
function decoded(body: Readable, contentEncoding: string | string[] | undefined): Readable {
  if (!contentEncoding) return body;
  const codings = String(contentEncoding)
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c && c !== 'identity')
    .reverse();
  const decoders: Transform[] = [];
  for (const coding of codings) {
    const decoder = DECODERS.get(coding);
    if (!decoder) return body;
    decoders.push(decoder());
  }
  // Each pipeline destroys both ends when either fails or is destroyed, so a cancel reaches the socket.
  let out = body;
  for (const decoder of decoders) out = pipeline(out, decoder, () => {});
  return out;
}

/**
 * The Node stream as a web stream: its chunks are enqueued as they arrive while the reader wants
 * more, and the Node stream is paused when it does not (a pull-per-chunk async iterator measured
 * 25-38 % more CPU per streamed call). Cancelling destroys the Node stream, which closes the
 * connection; an error surfaces as fetch's would: the abort reason, or `TypeError('terminated')`
 * with the socket error as its cause.
 */
function webBody(source: Readable, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (err: unknown) => {
          if (!open) return;
          open = false;
          controller.error(signal?.aborted ? signal.reason : new TypeError('terminated', { cause: err }));
        };
        source.on('data', (chunk: Uint8Array) => {
          if (!open) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) source.pause();
        });
        source.on('end', () => {
          if (!open) return;
          open = false;
          controller.close();
        });
        source.on('error', fail);
        // Destroyed without an error and without its end: the body was cut all the same.
        source.on('close', () => fail(new Error('body closed before its end')));
        source.pause();
      },
      pull() {
        source.resume();
      },
      cancel() {
        open = false;
        source.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
