/**
 * Requests Node's HTTP parser rejects never reach a route; they get our error envelope anyway, with
 * the right status (400, 431 for headers over the limit, 408 for a request not received in time),
 * and the connection is closed. Spoken over raw sockets, since no HTTP client sends such bytes.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';

let api: TestApi;
let port: number;

beforeAll(async () => {
  api = await startTestApi({ RATE_LIMIT_RPM: '0', LOG_LEVEL: 'debug' }, {}, { headersTimeoutMs: 300, timeoutCheckIntervalMs: 50 });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  port = (api.app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await api?.close();
});

interface Transcript {
  raw: string;
  /** How the server ended the connection: a clean close, a reset, or not within the deadline. */
  ended: 'closed' | 'reset' | 'open';
  ms: number;
}

/** Sends `parts` (waiting `gapMs` between them) and reads until the server closes, or `timeoutMs`. */
function exchange(parts: Array<string | Buffer>, { gapMs = 0, timeoutMs = 5_000 } = {}): Promise<Transcript> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let ended: Transcript['ended'] = 'open';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ raw: Buffer.concat(chunks).toString('latin1'), ended, ms: performance.now() - started });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      ended = 'closed';
      done();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      ended = err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'open';
      done();
    });
    socket.on('connect', async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (socket.destroyed) return;
        socket.write(part);
      }
    });
  });
}

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits a transcript into the HTTP/1.1 responses it holds (all of them framed by content-length). */
function responses(raw: string): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) throw new Error(`not an HTTP response: ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine = '', ...lines] = rest.slice(0, headEnd).split('\r\n');
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    if (!match) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = Buffer.from(rest.slice(headEnd + 4), 'latin1')
      .subarray(0, length)
      .toString('utf8');
    out.push({ status: Number(match[1]), headers, body });
    rest = rest.slice(headEnd + 4 + Buffer.byteLength(body, 'latin1'));
  }
  return out;
}

/** The one response of a transcript, checked to be our envelope on a connection the server closes. */
function envelope(t: Transcript) {
  expect(t.ended).toBe('closed');
  const all = responses(t.raw);
  expect(all).toHaveLength(1);
  const [res] = all as [ParsedResponse];
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.headers.connection).toBe('close');
  const json = JSON.parse(res.body);
  expect(Object.keys(json)).toEqual(['error']);
  expect(json.error).toMatchObject({ type: expect.any(String), message: expect.any(String), param: null, code: expect.any(String) });
  return { status: res.status, error: json.error as { type: string; message: string; code: string } };
}

describe('requests the HTTP parser rejects', () => {
  it.each([
    ['a malformed request line', 'HELLO / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['an unknown HTTP version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'],
    ['a space inside the path', 'GET /he lthz HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a header name with a space', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n'],
    ['a header value with a control character', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n'],
    [
      'content-length and transfer-encoding together',
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}',
    ],
    ['two different content-lengths', 'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
  ])('%s: 400 in the envelope, connection closed', async (_what, request) => {
    const t = await exchange([request]);
    const { status, error } = envelope(t);
    expect(status).toBe(400);
    expect(error.type).toBe('invalid_request_error');
    expect(error.code).toBe('malformed_request');
    expect(error.message).toMatch(/^Malformed HTTP request \(HPE_[A-Z_]+/);
  });

  it('invalid chunked framing in a body Fastify is already reading: 400 in the envelope, and no job', async () => {
    const head = 'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const body = '{"messages":[{"role":"user","content":"framing"}]}';
    const t = await exchange([head, `ZZ\r\n${body}\r\n0\r\n\r\n`], { gapMs: 50 });
    const { status, error } = envelope(t);
    expect(status).toBe(400);
    expect(error.message).toContain('HPE_INVALID_CHUNK_SIZE');
    expect(await api.ctx.jobs.queue.count()).toBe(0);
    // Fastify's body reader then sees the request aborted: not a Redis problem, and not a warning.
    await new Promise((r) => setTimeout(r, 50));
    expect(api.logLines.filter((l) => l.includes('redis unavailable'))).toEqual([]);
  });

  it('headers over the limit, sent in full: 431 in the envelope, read before the close', async () => {
    const request = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(256 * 1024)}\r\n\r\n`;
    const t = await exchange([request]);
    const { status, error } = envelope(t);
    expect(status).toBe(431);
    expect(error.type).toBe('request_too_large');
    expect(error.code).toBe('headers_too_large');
    expect(error.message).toContain('16384 bytes');
  });

  it('headers not received in time (a slow client): 408 in the envelope while the socket is writable', async () => {
    const t = await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\n']);
    const { status, error } = envelope(t);
    expect(status).toBe(408);
    expect(error.type).toBe('timeout_error');
    expect(error.code).toBe('request_timeout');
    expect(t.ms).toBeGreaterThanOrEqual(290);
  });

  it('after a good request on a kept-alive connection: the good answer, then the envelope', async () => {
    const t = await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 'HELLO / HTTP/1.1\r\n\r\n'], { gapMs: 100 });
    expect(t.ended).toBe('closed');
    const [ok, bad, ...more] = responses(t.raw);
    expect(more).toEqual([]);
    expect(ok?.status).toBe(200);
    expect(JSON.parse(ok?.body ?? '')).toEqual({ status: 'ok' });
    expect(bad?.status).toBe(400);
    expect(JSON.parse(bad?.body ?? '').error.code).toBe('malformed_request');
  });

  it('pipelined behind a request still being answered: that answer arrives intact, then the close', async () => {
    // No worker runs here: the job stays queued, and a 300 ms long-poll answers with it after 300 ms.
    const submitted = await api.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { model: 'mock/echo', messages: [{ role: 'user', content: 'pipelined' }] },
    });
    const { id } = submitted.json();
    const t = await exchange([`GET /v1/jobs/${id}?wait_ms=300 HTTP/1.1\r\nHost: x\r\n\r\nHELLO / HTTP/1.1\r\n\r\n`]);
    expect(t.ended).toBe('closed');
    const all = responses(t.raw);
    expect(all).toHaveLength(1);
    expect(all[0]?.status).toBe(200);
    expect(all[0]?.headers.connection).toBe('close');
    expect(JSON.parse(all[0]?.body ?? '')).toMatchObject({ id, status: 'queued' });
  });

  it('logs each at debug, with the parser code and never the request bytes', async () => {
    const secret = 'sk-proj-CLIENTERRORabcdefghijklmnopqrstuvwxyz0123';
    await exchange([`GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nBad Header: 1\r\n\r\n`]);
    const lines = api.logLines.filter((l) => l.includes('client error'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('HPE_INVALID_HEADER_TOKEN'))).toBe(true);
    expect(api.logLines.join('\n')).not.toContain('CLIENTERROR');
    expect(api.logLines.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
  });

  it('leaves the server answering normally', async () => {
    const t = await exchange(['GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    expect(responses(t.raw).map((r) => r.status)).toEqual([200]);
  });
});
