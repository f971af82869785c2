/**
 * Owns Server-Sent Events on a Fastify reply: taking the response over from Fastify (hijack),
 * writing events and heartbeat comments, telling a client that hung up from a stream we ended, and
 * ending every open stream when the server closes (so shutdown never waits on a stream).
 */
import type { FastifyReply } from 'fastify';

export interface SseOptions {
  /** A comment line every this many ms keeps proxies and clients from timing the stream out. */
  heartbeatMs: number;
}

export class SseRegistry {
  private readonly open = new Set<SseStream>();

  create(reply: FastifyReply, options: SseOptions): SseStream {
    const stream = new SseStream(reply, options, () => this.open.delete(stream));
    this.open.add(stream);
    return stream;
  }

  get size(): number {
    return this.open.size;
  }

  closeAll(): void {
    for (const stream of [...this.open]) stream.end();
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    sse: SseRegistry;
  }
}

export class SseStream {
  private started = false;
  private ended = false;
  private clientGone = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly closeListeners = new Set<() => void>();

  constructor(
    private readonly reply: FastifyReply,
    private readonly options: SseOptions,
    private readonly onFinish: () => void,
  ) {
    reply.raw.once('close', () => {
      if (!this.ended) this.clientGone = true;
      this.finish();
    });
  }

  /** True once the headers are out: from then on errors must travel as events. */
  get isOpen(): boolean {
    return this.started;
  }

  /** True when the client hung up before the stream ended. */
  get disconnected(): boolean {
    return this.clientGone;
  }

  get closed(): boolean {
    return this.ended || this.clientGone;
  }

  /** Calls `listener` once when the stream closes, for whatever reason. */
  onClose(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Takes the response over from Fastify and sends the headers (with any set on the reply so far). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.reply.hijack();
    const headers: Record<string, string | number | string[]> = {};
    for (const [name, value] of Object.entries(this.reply.getHeaders())) {
      if (value !== undefined && name !== 'content-length') headers[name] = value as string | number | string[];
    }
    this.reply.raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.heartbeat = setInterval(() => this.comment('ping'), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** One event: `data` is sent as JSON unless it is a string already. */
  send(data: unknown, event?: string): void {
    if (!this.started) this.start();
    if (this.closed) return;
    const body = typeof data === 'string' ? data : JSON.stringify(data);
    const lines = body.split(/\r\n|\r|\n/).map((line) => `data: ${line}`);
    this.reply.raw.write(`${event ? `event: ${event}\n` : ''}${lines.join('\n')}\n\n`);
  }

  comment(text: string): void {
    if (!this.started || this.closed) return;
    this.reply.raw.write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.started && !this.clientGone) this.reply.raw.end();
    this.finish();
  }

  private finish(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.onFinish();
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const listener of listeners) listener();
  }
}
