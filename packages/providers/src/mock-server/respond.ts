/**
 * Owns answering one provider call on the mock server: reading the body, picking the fault (header
 * `x-mock-fault`, then a `[[mock:...]]` directive, then the configured rules), and acting it out at
 * the socket level: delays, resets, hangs, error bodies, malformed and in-band answers, streams cut
 * or ended early. Echoes the last user message by default.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  delayFor,
  extractDirective,
  type Fault,
  type FaultBook,
  FaultSyntaxError,
  isEmptyFault,
  kindForStatus,
  parseFault,
} from './faults.ts';
import type { Route } from './routes.ts';
import type { CallRecord } from './stats.ts';
import { countTokens, header, LOREM, wordChunks } from './wire/common.ts';
import { openrouterCredits, openrouterKey } from './wire/openai.ts';
import { type ChatCall, isRendered, type Rendered, type Reply } from './wire/types.ts';

export interface RecordedRequest {
  provider: string;
  endpoint: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface CallContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  route: Route;
  record: CallRecord;
  faults: FaultBook;
  random: () => number;
  /** Aborted when the connection closes, whoever closed it: stops timers and writes. */
  gone: AbortSignal;
  /** Tells the stats that the server itself is closing this connection (reset/cut): "dropped", not "abandoned". */
  markDropped: () => void;
  openrouterAccount: { limit: number | null; usage: number };
  onRequest?: (request: RecordedRequest) => void;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, rendered: Rendered, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(rendered.status, {
    'content-type': rendered.contentType ?? 'application/json',
    ...rendered.headers,
    ...extra,
    'content-length': String(Buffer.byteLength(rendered.body)),
  });
  res.end(rendered.body);
}

function writeAndFlush(res: ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(data, () => resolve());
  });
}

/** Destroys the connection the way a crashing peer would: an RST where the platform allows it. */
function tearDown(ctx: CallContext): void {
  ctx.markDropped();
  const socket = ctx.req.socket as typeof ctx.req.socket & { resetAndDestroy?: () => void };
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

async function pause(ms: number, gone: AbortSignal): Promise<boolean> {
  if (ms <= 0) return !gone.aborted;
  try {
    await sleep(ms, undefined, { signal: gone });
    return true;
  } catch {
    return false;
  }
}

function retryHeaders(fault: Fault): Record<string, string> {
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
  if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
  return headers;
}

function chooseFault(ctx: CallContext, model: string | undefined, directive: string | undefined): Fault {
  const fromHeader = header(ctx.req.headers, 'x-mock-fault');
  if (fromHeader !== undefined) return parseFault(fromHeader);
  if (directive !== undefined) return parseFault(directive);
  return ctx.faults.match(ctx.route.provider, model, ctx.route.endpoint) ?? {};
}

function buildReply(call: ChatCall, text: string, fault: Fault): Reply {
  const content =
    fault.words !== undefined ? Array.from({ length: fault.words }, (_, i) => LOREM[i % LOREM.length]).join(' ') : text || 'ok';
  return { text: content, chunks: wordChunks(content), promptTokens: call.promptTokens, completionTokens: countTokens(content) };
}

/** Serves a non-chat endpoint (models, OpenRouter key/credits). */
function endpointBody(ctx: CallContext): Rendered {
  const apiKey = header(ctx.req.headers, 'authorization')?.replace(/^Bearer\s+/i, '');
  switch (ctx.route.endpoint) {
    case 'key':
      return openrouterKey(apiKey, ctx.openrouterAccount);
    case 'credits':
      return openrouterCredits(ctx.openrouterAccount);
    default:
      return ctx.route.wire.models(ctx.url.searchParams);
  }
}

async function sendBody(ctx: CallContext, rendered: Rendered, fault: Fault): Promise<void> {
  // Ended early but cleanly: a well-framed body that stops mid-JSON.
  if (fault.eof !== undefined) return send(ctx.res, { ...rendered, body: rendered.body.slice(0, Math.floor(rendered.body.length / 2)) });
  if (fault.cut === undefined) return send(ctx.res, rendered);
  // A body cut mid-way: headers promise the full length, half arrives, the connection dies.
  ctx.res.writeHead(rendered.status, {
    'content-type': rendered.contentType ?? 'application/json',
    'content-length': String(Buffer.byteLength(rendered.body)),
  });
  await writeAndFlush(ctx.res, rendered.body.slice(0, Math.floor(rendered.body.length / 2)));
  tearDown(ctx);
}

async function sendStream(ctx: CallContext, call: ChatCall, reply: Reply, fault: Fault): Promise<void> {
  const { res, gone } = ctx;
  const plan = ctx.route.wire.stream(call, reply);
  res.writeHead(200, { 'content-type': plan.contentType, 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  for (const frame of plan.prelude) await writeAndFlush(res, frame);
  if (fault.malformed) {
    await writeAndFlush(res, ctx.route.wire.malformed(call).frame);
    return void res.end();
  }
  const limit = Math.min(fault.cut ?? fault.eof ?? fault.hangAfter ?? (fault.inband ? 1 : Number.POSITIVE_INFINITY), plan.content.length);
  for (let i = 0; i < limit; i++) {
    if (gone.aborted) return;
    await writeAndFlush(res, plan.content[i]!);
    if (fault.slowMs && !(await pause(fault.slowMs, gone))) return;
  }
  if (gone.aborted) return;
  if (fault.inband) {
    await writeAndFlush(res, ctx.route.wire.inband(call).frame);
    return void res.end();
  }
  if (fault.cut !== undefined) return tearDown(ctx);
  if (fault.eof !== undefined) return void res.end();
  if (fault.hangAfter !== undefined) return;
  for (const frame of plan.terminator) await writeAndFlush(res, frame);
  res.end();
}

/** Answers one routed provider call. Never throws: failures become the vendor's 400 or a closed socket. */
export async function respond(ctx: CallContext): Promise<void> {
  const { req, res, route, record } = ctx;
  let raw: string;
  try {
    raw = await readBody(req);
  } catch {
    return; // the client went away mid-body (counted by the close handler) or sent too much
  }
  let body: unknown;
  if (raw.trim()) {
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, route.wire.error('bad_request', {}));
    }
  }
  ctx.onRequest?.({
    provider: route.provider,
    endpoint: route.endpoint,
    method: req.method ?? '',
    path: ctx.url.pathname,
    query: ctx.url.search,
    headers: { ...req.headers },
    body,
  });

  const denied = route.wire.checkAuth(req.headers, ctx.url.searchParams);
  let call: ChatCall | undefined;
  let directive: string | undefined;
  let echo = '';
  if (route.endpoint === 'chat' && !denied) {
    const parsed = route.wire.parseChat({
      provider: route.provider,
      body,
      headers: req.headers,
      query: ctx.url.searchParams,
      ...(route.model !== undefined ? { pathModel: route.model } : {}),
      ...(route.stream !== undefined ? { pathStream: route.stream } : {}),
    });
    if (isRendered(parsed)) return send(res, parsed);
    call = parsed;
    record.setModel(call.model);
    if (call.stream) record.markStreamed();
    const extracted = extractDirective(call.lastUser);
    directive = extracted.spec;
    echo = extracted.text;
  }

  let fault: Fault;
  try {
    fault = chooseFault(ctx, call?.model, directive);
  } catch (err) {
    if (!(err instanceof FaultSyntaxError)) throw err;
    return send(res, {
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({ error: { type: 'mock_fault_syntax', message: err.message } }),
    });
  }
  if (!isEmptyFault(fault)) record.markFaulted();

  if (!(await pause(delayFor(fault, ctx.random), ctx.gone))) return;
  if (fault.reset) return tearDown(ctx);
  if (fault.hang) return; // never answers; the close handler counts the client giving up
  if (fault.status !== undefined || fault.error !== undefined) {
    const kind = fault.error ?? kindForStatus(fault.status!);
    const rendered = route.wire.error(kind, {
      ...(call?.model ? { model: call.model } : {}),
      ...(call?.apiKey ? { apiKey: call.apiKey } : {}),
    });
    const status = fault.status ?? rendered.status;
    if (status < 300 && call?.stream) {
      // A "failure" the vendor reports in a 200 (Gemini's blocked prompt) arrives as a stream event when streaming.
      const plan = route.wire.stream(call, buildReply(call, echo, fault));
      return send(res, { status, contentType: plan.contentType, body: `data: ${rendered.body}\r\n\r\n` });
    }
    return send(res, { ...rendered, status }, retryHeaders(fault));
  }
  if (denied) return send(res, denied);

  if (!call) {
    const rendered = fault.malformed ? { status: 200, contentType: 'application/json', body: '{"data":[' } : endpointBody(ctx);
    return sendBody(ctx, rendered, fault);
  }
  const reply = buildReply(call, echo, fault);
  if (call.stream) return sendStream(ctx, call, reply, fault);
  if (fault.malformed) return send(res, route.wire.malformed(call).body);
  if (fault.inband) return send(res, route.wire.inband(call).body);
  if (fault.hangAfter !== undefined) {
    // Non-streamed: headers and half the body, then silence.
    const rendered = route.wire.completion(call, reply);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(rendered.body)) });
    return writeAndFlush(res, rendered.body.slice(0, Math.floor(rendered.body.length / 2)));
  }
  return sendBody(ctx, route.wire.completion(call, reply), fault);
}
