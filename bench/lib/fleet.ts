/**
 * Shared fixtures of a bench run, started on first use and kept for the benchmarks after it:
 * - the fault-injecting mock provider server, in a process of its own (lib/mock.ts);
 * - "our fleet": one namespace with one API process and a pool of our worker processes, every one
 *   pointed at the mock server (MOCK_PROVIDER_URL: `mock/echo` runs in-process, any other `mock/*`
 *   model goes over HTTP to the mock). The pool grows (start) and shrinks (SIGTERM, drained) so
 *   B1, B3, B5, B6 and B7 pay for worker start-ups (seconds of CPU each under tsx) only once.
 */

import { decodeJobDone, type JobDoneMessage, jobDoneChannel } from '@switchyard/shared';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_CLOCK_SKEW_MS } from '../../apps/worker/src/job-signals.ts';
import type { BenchContext, Shared } from './context.ts';
import { RemoteMock } from './mock.ts';
import { type ApiProc, baseEnv, type Proc, startApi, startInBatches, startWorker, stopAll } from './processes.ts';
import { benchConnection, OurJobs } from './queue.ts';

/** Jobs in flight per worker process, ours and every baseline alike: the contract default. */
export const WORKER_CONCURRENCY = 16;

/** The run's mock provider process, started on first use, with its faults cleared and stats zeroed. */
export async function sharedMock(ctx: BenchContext): Promise<RemoteMock> {
  let mock = ctx.shared.get('mock') as RemoteMock | undefined;
  if (!mock) {
    mock = await RemoteMock.start();
    ctx.shared.set('mock', mock);
  }
  await mock.clearFaults();
  await mock.resetStats();
  return mock;
}

/** Resolves per job id when the workers publish its final state (the channel every API process listens on): jobs added with `notify`. */
export class DoneWatcher {
  private readonly waiters = new Map<string, (message: JobDoneMessage & { at: number }) => void>();
  private readonly early = new Map<string, JobDoneMessage & { at: number }>();
  private constructor(
    private readonly subscriber: Redis,
    readonly channel: string,
  ) {
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      const message = decodeJobDone(raw);
      if (!message) return;
      const stamped = { ...message, at: performance.now() };
      const waiter = this.waiters.get(message.id);
      if (waiter) {
        this.waiters.delete(message.id);
        waiter(stamped);
      } else this.early.set(message.id, stamped);
    });
  }

  static async start(url: string, namespace: string): Promise<DoneWatcher> {
    const subscriber = benchConnection(url);
    const watcher = new DoneWatcher(subscriber, jobDoneChannel(namespace));
    await subscriber.subscribe(watcher.channel);
    return watcher;
  }

  /** The job's final message (with `at`, performance.now() when it arrived), or null after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<(JobDoneMessage & { at: number }) | null> {
    const early = this.early.get(id);
    if (early) {
      this.early.delete(id);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        resolve(null);
      }, timeoutMs);
      this.waiters.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

export class OursFleet implements Shared {
  readonly workers: Proc[] = [];
  api: ApiProc | undefined;
  readonly connection: Redis;
  readonly jobs: OurJobs;
  private stopped: Proc[] = [];
  private readonly startedAt = new Map<Proc, number>();

  private constructor(
    ctx: BenchContext,
    readonly namespace: string,
    readonly mock: RemoteMock,
    readonly env: Record<string, string>,
  ) {
    this.connection = benchConnection(ctx.redis.url);
    this.jobs = new OurJobs(this.connection, namespace, env);
  }

  static async get(ctx: BenchContext): Promise<OursFleet> {
    let fleet = ctx.shared.get('ours-fleet') as OursFleet | undefined;
    if (!fleet) {
      const mock = await sharedMock(ctx);
      const namespace = ctx.namespace('ours');
      const env = baseEnv(ctx.redis.url, namespace, {
        MOCK_PROVIDER: 'true',
        MOCK_PROVIDER_URL: mock.url,
        WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      });
      fleet = new OursFleet(ctx, namespace, mock, env);
      ctx.shared.set('ours-fleet', fleet);
    }
    return fleet;
  }

  get queue(): Queue {
    return this.jobs.queue;
  }

  async ensureApi(): Promise<ApiProc> {
    this.api ??= await startApi('ours-api', this.env);
    return this.api;
  }

  /** Grows the pool to `n` workers (started in parallel) or shrinks it (SIGTERM, drained, exit 0). */
  async workersTo(n: number): Promise<Proc[]> {
    if (this.workers.length > n) {
      const extra = this.workers.splice(n);
      await stopAll(extra);
      this.stopped.push(...extra);
    }
    const missing = n - this.workers.length;
    if (missing > 0) {
      const base = this.workers.length + this.stopped.length;
      const started = await startInBatches(missing, (i) => startWorker(`ours-worker-${base + i + 1}`, this.env));
      const now = Date.now();
      for (const proc of started) this.startedAt.set(proc, now);
      this.workers.push(...started);
    }
    return this.workers;
  }

  /**
   * Waits until every worker is past its signal warm-up (apps/worker job-signals.ts): for its first
   * DEFAULT_CLOCK_SKEW_MS a worker cannot rule out a cancel or watch sent before it subscribed, so
   * each job costs an EXISTS and two PUBLISHes more. Throughput benchmarks measure the steady state.
   */
  async steady(): Promise<void> {
    const readyAt = Math.max(0, ...this.workers.map((p) => (this.startedAt.get(p) ?? 0) + DEFAULT_CLOCK_SKEW_MS + 250));
    const wait = readyAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** Removes every job of the queue (for a benchmark that left some behind, e.g. B2's intake). */
  async emptyQueue(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    await stopAll([...this.workers, ...(this.api ? [this.api] : [])]);
    await this.jobs.close().catch(() => {});
    this.connection.disconnect();
  }
}
