/**
 * Owns per-job event subscriptions for the whole API process (SSE streams and the streaming
 * OpenAI facade): channels are subscribed on the process's one subscriber connection, shared by
 * every listener of the same job and dropped when the last one leaves. Subscribing fails fast
 * while Redis is down instead of queueing behind a dead connection. A listener of a job that does
 * not stream announces itself on the watch channel: workers publish state events only for jobs
 * someone follows.
 */
import { type JobEvent, jobEventsChannel, type Logger, type RedisClient, watchChannel } from '@switchyard/shared';
import { RedisUnavailableError } from '../plugins/errors.ts';

export type JobEventListener = (event: JobEvent) => void;

const SUBSCRIBE_DEADLINE_MS = 1000;

export class JobEventHub {
  private readonly listeners = new Map<string, Set<JobEventListener>>();
  private readonly prefix: string;

  constructor(
    private readonly subscriber: RedisClient,
    /** Request-path connection, for the watch announcements. */
    private readonly redis: RedisClient,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {
    this.prefix = jobEventsChannel(namespace, '');
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel.startsWith(this.prefix)) this.onMessage(channel, raw);
    });
  }

  get channels(): number {
    return this.listeners.size;
  }

  /**
   * Starts delivering the job's events to `listener`; resolves once Redis confirmed the
   * subscription (and, with `watch`, the workers were told), so nothing published afterwards is
   * missed. Returns the function that stops it. Streaming jobs publish their events anyway: their
   * listeners pass `watch: false`.
   */
  async listen(jobId: string, listener: JobEventListener, { watch = true }: { watch?: boolean } = {}): Promise<() => void> {
    const channel = jobEventsChannel(this.namespace, jobId);
    if (this.subscriber.status !== 'ready') throw new RedisUnavailableError('Redis is unreachable (event subscription)');
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    const stop = () => this.remove(channel, listener);
    // SUBSCRIBE is idempotent and commands on one connection run in order, so every listener may
    // issue its own: a concurrent UNSUBSCRIBE of an earlier listener can never win over it.
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.subscriber.subscribe(channel),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RedisUnavailableError('Redis is unreachable (subscribe timed out)')), SUBSCRIBE_DEADLINE_MS);
        }),
      ]);
      if (watch) await this.redis.publish(watchChannel(this.namespace), jobId);
    } catch (err) {
      stop();
      throw err instanceof RedisUnavailableError ? err : new RedisUnavailableError(`Redis is unreachable (${(err as Error).message})`);
    } finally {
      clearTimeout(timer);
    }
    return stop;
  }

  private remove(channel: string, listener: JobEventListener): void {
    const set = this.listeners.get(channel);
    if (!set?.delete(listener) || set.size > 0) return;
    this.listeners.delete(channel);
    this.subscriber.unsubscribe(channel).catch(() => {
      // A dead connection drops its subscriptions anyway; ioredis re-subscribes only to live ones.
    });
  }

  private onMessage(channel: string, raw: string): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    let event: JobEvent;
    try {
      event = JSON.parse(raw) as JobEvent;
    } catch {
      this.logger.warn({ channel }, 'unreadable job event');
      return;
    }
    if (!event || (event.type !== 'state' && event.type !== 'token')) return;
    for (const listener of [...set]) listener(event);
  }

  close(): void {
    this.listeners.clear();
  }
}
