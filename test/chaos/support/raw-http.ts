/**
 * Owns HTTP at the byte level for the hostile-input test: a request is whatever bytes we choose
 * (any method, any path bytes, broken framing), written at once, in pieces, or a byte at a time,
 * over a fresh TCP connection; the answer is read until the server closes or a deadline passes.
 * Every answer goes through the secret scanner.
 */
import { connect, type Socket } from 'node:net';
import { scanner } from './secrets.ts';

export interface RawAnswer {
  /** 0 when no status line came back. */
  status: number;
  head: string;
  /** The body, de-chunked when chunked. */
  body: string;
  ms: number;
  /** How the exchange ended when it did not end with the server closing after an answer. */
  error?: string;
}

export interface RawOptions {
  timeoutMs?: number;
  /** Write the request this many bytes at a time, pausing `pauseMs` between pieces. */
  pieceBytes?: number;
  pauseMs?: number;
  /** Stop reading once the head has arrived (streams that never end). */
  headOnly?: boolean;
  /** Never read the answer (a client that stalls): the exchange ends at the deadline. */
  stall?: boolean;
}

export function raw(port: number, request: string | Buffer, options: RawOptions = {}): Promise<RawAnswer> {
  const payload = typeof request === 'string' ? Buffer.from(request, 'utf8') : request;
  const started = performance.now();
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    let writer: NodeJS.Timeout | undefined;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(writer);
      socket.destroy();
      const answer = parse(Buffer.concat(chunks), performance.now() - started, error);
      scanner.response(`${answer.head}\n${answer.body}`, `raw ${payload.subarray(0, 40).toString('latin1').split('\r\n')[0]}`);
      resolve(answer);
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 15_000);
    if (!options.stall)
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (options.headOnly && Buffer.concat(chunks).includes('\r\n\r\n')) finish();
      });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    // A write error after the server has answered (it may stop reading a body it refuses) is not a failure.
    socket.on('error', (err) => finish(chunks.length > 0 ? undefined : err.message));
    socket.on('connect', () => {
      if (options.stall) socket.pause();
      const piece = options.pieceBytes ?? 0;
      if (piece <= 0) {
        socket.write(payload);
        return;
      }
      let at = 0;
      const next = () => {
        if (done || at >= payload.length) return;
        socket.write(payload.subarray(at, at + piece));
        at += piece;
        writer = setTimeout(next, options.pauseMs ?? 10);
      };
      next();
    });
  });
}

function parse(bytes: Buffer, ms: number, error?: string): RawAnswer {
  const text = bytes.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  let body = split === -1 ? '' : text.slice(split + 4);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) body = dechunk(body);
  return { status, head, body, ms, ...(status === 0 || error ? { error: error ?? 'no status line' } : {}) };
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol === -1) return out + rest;
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/** A request's bytes: request line, headers (Host and Connection: close added unless given), body. */
export function httpRequest(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`];
  const names = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
  if (!names.has('host')) lines.push('Host: 127.0.0.1');
  if (!names.has('connection')) lines.push('Connection: close');
  const bodyBytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (bodyBytes && !names.has('content-length') && !names.has('transfer-encoding')) lines.push(`Content-Length: ${bodyBytes.length}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  return bodyBytes ? Buffer.concat([head, bodyBytes]) : head;
}
