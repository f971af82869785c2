/**
 * Owns waiting for jobs to finish, for the whole API process: one Redis subscription to the
 * workers' completion channel and a map of waiting requests. This replaces BullMQ's per-job
 * `waitUntilFinished` listeners (DESIGN.md section 5).
 */
import type { AbortSignalLike, Logger, RedisClient } from '@switchyard/shared';
import { decodeJobDone, type JobDoneMessage, jobDoneChannel, jobDoneId } from '@switchyard/shared';

type Waiter = (message: JobDoneMessage | null) => void;

export class CompletionHub {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly channel: string;

  constructor(
    private readonly subscriber: RedisClient,
    namespace: string,
    private readonly logger: Logger,
  ) {
    this.channel = jobDoneChannel(namespace);
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel === this.channel) this.onMessage(raw);
    });
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Resolves with the job's final message, or null when `timeoutMs` passes or `signal` aborts.
   * Register BEFORE checking the job's state to close the race with a completion in between.
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignalLike): { promise: Promise<JobDoneMessage | null>; cancel: () => void } {
    let settle!: Waiter;
    const promise = new Promise<JobDoneMessage | null>((resolve) => {
      settle = resolve;
    });
    const timer = setTimeout(() => done(null), timeoutMs);
    const onAbort = () => done(null);
    const done: Waiter = (message) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const set = this.waiters.get(id);
      if (set) {
        set.delete(done);
        if (set.size === 0) this.waiters.delete(id);
      }
      settle(message);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let set = this.waiters.get(id);
    if (!set) {
      set = new Set();
      this.waiters.set(id, set);
    }
    set.add(done);
    return { promise, cancel: () => done(null) };
  }

  private onMessage(raw: string): void {
    const id = jobDoneId(raw);
    const set = this.waiters.get(id);
    if (!set) return;
    const message = decodeJobDone(raw);
    if (!message) {
      this.logger.warn({ jobId: id }, 'unreadable completion message');
      return;
    }
    for (const waiter of [...set]) waiter(message);
  }

  async close(): Promise<void> {
    for (const set of this.waiters.values()) for (const waiter of [...set]) waiter(null);
    this.waiters.clear();
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}
