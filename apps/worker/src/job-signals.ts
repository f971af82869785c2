/**
 * Owns what clients tell the workers about jobs over pub/sub, on the worker's subscriber
 * connection: cancels (abort the job, or refuse to start it), watches (a client follows the job's
 * events, so its state changes are worth publishing) and awaits (a request waits for the job's
 * final state, so its completion message is worth publishing).
 *
 * They used to cost Redis commands on every job (an EXISTS of the cancel mark, two PUBLISHes of
 * state events and one of the completion message, nobody listening to most of them). Now the
 * worker remembers recent signals in memory and asks Redis only about jobs a signal could have been
 * sent for while this process was not subscribed: a signal for a job is always published after the
 * job was created, so for a job created after our subscription was live (less a margin for clock
 * skew between hosts) nothing can have been missed.
 */
import { awaitChannel, cancelChannel, type RedisClient, watchChannel } from '@switchyard/shared';

export interface JobSignalsOptions {
  /** How far API and worker clocks may disagree; jobs this close to our subscription are asked about. */
  clockSkewMs?: number;
  /** How long a signal is remembered. */
  rememberMs?: number;
  /** Most signals remembered; the oldest go first. */
  maxRemembered?: number;
  now?: () => number;
}

/**
 * How far API and worker clocks may disagree, by default. For this long after its subscription goes
 * live, a worker asks Redis about each job's cancel mark and publishes its state events whether or
 * not anyone watches: an EXISTS and two PUBLISHes per job more than in steady state.
 */
export const DEFAULT_CLOCK_SKEW_MS = 5_000;

/** Signals remembered in arrival order, each until its time is up; bounded in number. */
class RecentIds {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  add(id: string): void {
    this.until.delete(id);
    this.until.set(id, this.now() + this.ttlMs);
    if (this.until.size > this.max) {
      const oldest = this.until.keys().next().value;
      if (oldest !== undefined) this.until.delete(oldest);
    }
  }

  has(id: string): boolean {
    const until = this.until.get(id);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.until.delete(id);
    return false;
  }
}

export class JobSignals {
  private readonly cancels: RecentIds;
  private readonly watches: RecentIds;
  private readonly awaits: RecentIds;
  private readonly cancelChannel: string;
  private readonly watchChannel: string;
  private readonly awaitChannel: string;
  private readonly clockSkewMs: number;
  private readonly now: () => number;
  /** When our subscription last became live; null while it is not. */
  private liveSince: number | null = null;
  private subscribed = false;
  private onCancelListener: (jobId: string) => void = () => {};

  constructor(
    private readonly subscriber: RedisClient,
    namespace: string,
    options: JobSignalsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.clockSkewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
    const rememberMs = options.rememberMs ?? 10 * 60_000;
    const max = options.maxRemembered ?? 50_000;
    this.cancels = new RecentIds(rememberMs, max, this.now);
    this.watches = new RecentIds(rememberMs, max, this.now);
    this.awaits = new RecentIds(rememberMs, max, this.now);
    this.cancelChannel = cancelChannel(namespace);
    this.watchChannel = watchChannel(namespace);
    this.awaitChannel = awaitChannel(namespace);
    subscriber.on('message', (channel: string, jobId: string) => {
      if (channel === this.cancelChannel) {
        this.cancels.add(jobId);
        this.onCancelListener(jobId);
      } else if (channel === this.watchChannel) this.watches.add(jobId);
      else if (channel === this.awaitChannel) this.awaits.add(jobId);
    });
    // Messages published while the connection is down are lost: until ioredis has re-subscribed,
    // every job counts as one whose signals we may have missed.
    subscriber.on('close', () => {
      this.liveSince = null;
    });
    subscriber.on('ready', () => {
      if (this.liveSince === null && this.subscribed) this.liveSince = this.now();
    });
  }

  /** Subscribes to the three channels; resolves once Redis confirmed it. */
  async start(): Promise<void> {
    await this.subscriber.subscribe(this.cancelChannel, this.watchChannel, this.awaitChannel);
    this.subscribed = true;
    this.liveSince = this.now();
  }

  /** Called with the id of every cancel as it arrives (the job may be running here). */
  onCancel(listener: (jobId: string) => void): void {
    this.onCancelListener = listener;
  }

  /** A cancel for this job arrived here recently. */
  cancelled(jobId: string): boolean {
    return this.cancels.has(jobId);
  }

  /** A client follows this job's events. */
  watched(jobId: string): boolean {
    return this.watches.has(jobId);
  }

  /** A request waits for this job's final state: it announced so, or it follows the job's events. */
  awaited(jobId: string): boolean {
    return this.awaits.has(jobId) || this.watches.has(jobId);
  }

  /**
   * True when a signal about a job created at `createdAtMs` (the API's clock) may have been
   * published while this process was not subscribed, so only Redis knows.
   */
  mayHaveMissed(createdAtMs: number): boolean {
    return this.liveSince === null || createdAtMs <= this.liveSince + this.clockSkewMs;
  }
}
