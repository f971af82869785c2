/**
 * Owns the dashboard's live stream (GET /dashboard/api/stream, Server-Sent Events): one state
 * read loop and one state-event subscription per API process, shared by every open page, started
 * with the first client and stopped with the last. Pushes `snapshot` every snapshotIntervalMs,
 * `series` every seriesIntervalMs, each state-change event (`state`: circuit, provider state,
 * cooldown) the moment Redis publishes it, followed by a fresh snapshot and series. A client that stops
 * reading is dropped rather than buffered without bound.
 */
import type { ServerResponse } from 'node:http';
import { createRedis, type Logger, type RedisClient, type RedisConnectionSettings } from '@switchyard/shared';
import { parseStateEvent, type StateStore } from '@switchyard/state';
import type { FastifyReply } from 'fastify';
import type { SnapshotSource } from './snapshot.ts';

export interface StreamOptions {
  /** Where the state-event subscriber connects (the app's Redis settings). */
  redis: RedisConnectionSettings;
  snapshotIntervalMs: number;
  seriesIntervalMs: number;
  /** Comment line that keeps proxies from closing an idle stream. Default 15000 ms. */
  keepAliveMs?: number;
  /** A client with more than this many bytes unsent is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
}

type Part = 'snapshot' | 'series';

export class DashboardStream {
  private readonly clients = new Set<ServerResponse>();
  private timers: NodeJS.Timeout[] = [];
  private subscriber: RedisClient | null = null;
  private readonly busy = new Set<Part>();
  private eventSnapshot: NodeJS.Timeout | null = null;
  /** Settles once the state-event subscription is live (or after a second, whatever happens). */
  private subscribed: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly source: SnapshotSource,
    private readonly state: StateStore,
    private readonly logger: Logger,
    private readonly options: StreamOptions,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over the reply: the connection stays open until the client leaves or the app closes. */
  attach(reply: FastifyReply): void {
    reply.hijack();
    const res = reply.raw;
    if (this.closed) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    res.on('close', () => this.detach(res));
    if (this.clients.size === 1) this.start();
    // The newcomer gets both parts at once instead of waiting for the next tick, once the event
    // subscription is live (at most a second), so no change after its first snapshot is missed.
    void this.subscribed.then(() => {
      void this.push('snapshot', res);
      void this.push('series', res);
    });
  }

  private detach(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size === 0) this.stop();
  }

  private start(): void {
    const { snapshotIntervalMs, seriesIntervalMs, keepAliveMs = 15_000 } = this.options;
    this.timers = [
      setInterval(() => void this.push('snapshot'), snapshotIntervalMs),
      setInterval(() => void this.push('series'), seriesIntervalMs),
      setInterval(() => this.broadcast(': keep-alive\n\n'), keepAliveMs),
    ];
    for (const timer of this.timers) timer.unref();
    this.subscribe();
  }

  private stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (this.eventSnapshot) clearTimeout(this.eventSnapshot);
    this.eventSnapshot = null;
  }

  /**
   * A connection of its own with an offline queue (a request-path connection refuses commands
   * until it is ready), so the subscription survives Redis restarts: ioredis re-subscribes.
   */
  private subscribe(): void {
    if (this.subscriber || this.closed) return;
    const subscriber = createRedis(this.options.redis, 'blocking', 'switchyard-dashboard-events');
    subscriber.on('error', (err: Error) => this.logger.debug({ err: { message: err.message } }, 'dashboard event subscriber error'));
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.state.eventsChannel || this.clients.size === 0) return;
      const event = parseStateEvent(message, this.logger);
      if (!event) return;
      this.broadcast(frame('state', event));
      this.snapshotSoon();
    });
    const subscribing = subscriber.subscribe(this.state.eventsChannel).then(
      () => {},
      (err: Error) => {
        this.logger.warn({ err: { message: err.message } }, 'dashboard could not subscribe to state events; snapshots continue');
      },
    );
    this.subscribed = Promise.race([subscribing, new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref())]);
    this.subscriber = subscriber;
  }

  /** Several events in a burst (a trip publishes more than one) give one snapshot and one series. */
  private snapshotSoon(): void {
    if (this.eventSnapshot) return;
    this.eventSnapshot = setTimeout(() => {
      this.eventSnapshot = null;
      void this.push('snapshot');
      void this.push('series');
    }, 100);
    this.eventSnapshot.unref();
  }

  /** Reads one part and sends it to `only`, or to every client. A read still running skips the tick. */
  private async push(part: Part, only?: ServerResponse): Promise<void> {
    if (!only && (this.busy.has(part) || this.clients.size === 0)) return;
    if (!only) this.busy.add(part);
    try {
      const data = part === 'snapshot' ? await this.source.snapshot() : await this.source.series();
      const text = frame(part, data);
      if (only) this.write(only, text);
      else this.broadcast(text);
    } catch (err) {
      const text = frame('problem', { part, message: 'state store unreachable', at: Date.now() });
      this.logger.debug({ part, err: { message: (err as Error).message } }, 'dashboard read failed');
      if (only) this.write(only, text);
      else this.broadcast(text);
    } finally {
      if (!only) this.busy.delete(part);
    }
  }

  private broadcast(text: string): void {
    for (const res of this.clients) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > (this.options.maxBufferedBytes ?? 1 << 20)) {
      this.logger.warn('dashboard stream client is not reading; dropped');
      res.destroy();
      this.detach(res);
      return;
    }
    res.write(text);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop();
    for (const res of this.clients) res.end();
    this.clients.clear();
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
