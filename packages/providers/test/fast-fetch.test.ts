/**
 * fastFetch (transport/fast-fetch.ts) against a real node:http server on 127.0.0.1: what goes out and
 * comes back, keep-alive reuse, aborts and cancels that close the socket (the server sees 'close'),
 * decoded gzip / br / deflate bodies, bodies delivered as they arrive, and failures thrown the way the
 * global fetch throws them, so classification is unchanged and no URL (nor the secret in it) leaks.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { brotliCompressSync, constants, createGzip, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyThrown, describeThrown } from '../src/classify/network.ts';
import { fastFetch } from '../src/transport/fast-fetch.ts';
import { pollUntil } from './helpers.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socketPort: number;
  /** Set when the response's connection closed before the response was complete. */
  closedEarly: boolean;
  finished: boolean;
}

let server: Server;
let base: string;
let handler: Handler = (_req, res) => res.end('ok');
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const entry: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      socketPort: req.socket.remotePort ?? 0,
      closedEarly: false,
      finished: false,
    };
    seen.push(entry);
    res.on('finish', () => {
      entry.finished = true;
    });
    res.on('close', () => {
      if (!entry.finished) entry.closedEarly = true;
    });
    handler(req, res, body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  seen.length = 0;
  handler = (_req, res) => res.end('ok');
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The first chunk of a body, as a string; the reader stays locked for the caller to go on or cancel. */
async function firstChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value, done } = await reader.read();
  expect(done).toBe(false);
  return new TextDecoder().decode(value);
}

describe('fastFetch: round trip', () => {
  it('sends method, headers and body; returns status, headers and body', async () => {
    handler = (_req, res, body) => {
      res.writeHead(429, [
        ['content-type', 'application/json'],
        ['retry-after', '7'],
        ['x-ratelimit-remaining-requests', '0'],
        ['x-multi', 'one'],
        ['x-multi', 'two'],
      ]);
      res.end(JSON.stringify({ echoed: JSON.parse(body) }));
    };
    const response = await fastFetch(`${base}/v1/chat?x=1`, {
      method: 'post',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k', 'x-custom': 'yes' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(429);
    expect(response.ok).toBe(false);
    expect(response.statusText).toBe('Too Many Requests');
    expect(response.headers.get('retry-after')).toBe('7');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(response.headers.get('x-multi')).toBe('one, two');
    expect(await response.json()).toEqual({ echoed: { hello: 'world' } });

    const request = seen[0]!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/chat?x=1');
    expect(request.headers).toMatchObject({ authorization: 'Bearer k', 'x-custom': 'yes', 'content-type': 'application/json' });
    // What the global fetch sends over plain HTTP, so a provider compresses exactly as before.
    expect(request.headers['accept-encoding']).toBe('gzip, deflate');
  });

  it('takes headers as a Headers object or pairs, keeps a caller-set accept-encoding, sends bytes', async () => {
    await (await fastFetch(base, { method: 'POST', headers: new Headers({ 'x-a': '1' }), body: new TextEncoder().encode('bytes') })).text();
    await (await fastFetch(base, { headers: [['Accept-Encoding', 'identity']] })).text();
    expect(seen[0]).toMatchObject({ body: 'bytes', headers: { 'x-a': '1' } });
    expect(seen[1]!.headers['accept-encoding']).toBe('identity');
  });

  it('reuses keep-alive connections per origin', async () => {
    // A server of its own: a fresh origin, so no idle connection of an earlier test is in its pool.
    const ports: number[] = [];
    const own = createServer((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      req.resume().on('end', () => res.end('ok'));
    });
    own.listen(0, '127.0.0.1');
    await once(own, 'listening');
    const url = `http://127.0.0.1:${(own.address() as AddressInfo).port}/`;
    try {
      for (let i = 0; i < 4; i++) {
        await (await fastFetch(url)).text();
        await new Promise((resolve) => setImmediate(resolve));
      }
      // undici frees a connection a tick after its body ends (the global fetch alike): a call sent in
      // that same tick opens a second one, and the pool then takes turns between the two.
      for (let i = 0; i < 4; i++) await (await fastFetch(url)).text();
      expect(new Set(ports.slice(0, 4)).size).toBe(1);
      expect(new Set(ports).size).toBeLessThanOrEqual(2);
    } finally {
      own.closeAllConnections();
      await new Promise((resolve) => own.close(resolve));
    }
  });

  it('a 204 has a null body', async () => {
    handler = (_req, res) => {
      res.writeHead(204).end();
    };
    const response = await fastFetch(base, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });
});

describe('fastFetch: decoding', () => {
  const text = JSON.stringify({ choices: [{ message: { content: 'compressed '.repeat(50) } }] });
  const ENCODED: Record<string, Buffer> = {
    gzip: gzipSync(text),
    br: brotliCompressSync(text),
    deflate: deflateSync(text),
  };

  it.each(Object.keys(ENCODED))('a %s body is decoded', async (coding) => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': coding });
      res.end(ENCODED[coding]);
    };
    const response = await fastFetch(`${base}/`);
    expect(await response.text()).toBe(text);
  });

  it('an unknown coding is left as it is', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'x-unheard-of' });
      res.end('raw');
    };
    expect(await (await fastFetch(base)).text()).toBe('raw');
  });
});

describe('fastFetch: streaming', () => {
  it.each([
    ['plain', false],
    ['gzip', true],
  ])('a %s body arrives chunk by chunk: the first before the server ends the response', async (_name, gzip) => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      const out = gzip ? createGzip({ flush: constants.Z_SYNC_FLUSH }) : res;
      if (gzip) out.pipe(res);
      out.write('data: first\n\n');
      released.then(() => out.end('data: last\n\n'));
    };
    const response = await fastFetch(base);
    const reader = response.body!.getReader();
    expect(await firstChunk(reader)).toBe('data: first\n\n');
    expect(seen[0]!.finished).toBe(false);
    release();
    let rest = '';
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest += new TextDecoder().decode(next.value);
    expect(rest).toBe('data: last\n\n');
  });
});

describe('fastFetch: aborts close the connection', () => {
  /** A server that answers nothing (or only `firstChunk`) until the client leaves. */
  const hang = (firstChunkText?: string): Handler => {
    return (_req, res) => {
      if (firstChunkText === undefined) return;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(firstChunkText);
    };
  };

  it('an already-aborted signal rejects with its reason and sends nothing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(fastFetch(base, { signal: controller.signal })).rejects.toThrow('caller gave up');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(0);
  });

  it('an abort while waiting for the answer rejects with the reason; the server sees the close', async () => {
    handler = hang();
    const controller = new AbortController();
    const call = fastFetch(base, { method: 'POST', body: '{}', signal: controller.signal });
    await pollUntil(() => seen.length === 1, 'the request to reach the server');
    controller.abort();
    const err = await call.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    await pollUntil(() => seen[0]!.closedEarly, 'the server to see the connection close');
  });

  it('an abort mid-body errors the body with the reason; the server sees the close', async () => {
    handler = hang('data: one\n\n');
    const controller = new AbortController();
    const response = await fastFetch(base, { signal: controller.signal });
    const reader = response.body!.getReader();
    expect(await firstChunk(reader)).toBe('data: one\n\n');
    controller.abort(new Error('stop reading'));
    await expect(reader.read()).rejects.toThrow('stop reading');
    await pollUntil(() => seen[0]!.closedEarly, 'the server to see the connection close');
  });

  it('cancelling the body closes the connection', async () => {
    handler = hang('data: one\n\n');
    const response = await fastFetch(base);
    const reader = response.body!.getReader();
    await firstChunk(reader);
    await reader.cancel();
    await pollUntil(() => seen[0]!.closedEarly, 'the server to see the connection close');
  });
});

describe('fastFetch: failures are thrown as the global fetch throws them', () => {
  const SECRET = 'AIzaSyQ9v8u7t6s5r4q3p2o1n0mLkJiHgFeDcBa';

  async function failure(url: string): Promise<unknown> {
    const err = await fastFetch(url, { headers: { 'x-goog-api-key': SECRET } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    return err;
  }

  it('connection refused: fetch failed, ECONNREFUSED, network_error, no URL or secret in any of it', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const err = await failure(`http://127.0.0.1:${port}/v1beta/models?key=${SECRET}`);
    expect((err as Error).message).toBe('fetch failed');
    expect(((err as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(classifyThrown(err)).toBe('network_error');
    const everything = `${describeThrown(err)}\n${inspect(err, { depth: 8 })}\n${(err as Error).stack}`;
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('/v1beta/models');
  });

  it('the server hangs up before answering: network_error', async () => {
    handler = (req) => req.socket.destroy();
    const err = await failure(base);
    expect(classifyThrown(err)).toBe('network_error');
  });

  it('the server hangs up mid-body: the body errors with terminated, network_error', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n', () => setTimeout(() => res.socket?.destroy(), 10));
    };
    const response = await fastFetch(base);
    const reader = response.body!.getReader();
    await firstChunk(reader);
    const err = await reader.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('terminated');
    expect(classifyThrown(err)).toBe('network_error');
  });
});
