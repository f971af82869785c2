/**
 * Owns counting finished jobs' usage and spend (CONTRACT.md, "Usage, spend and client budgets"):
 * when a job ends with usage, its tokens and cost go to the fleet's usage store under the job's
 * client, route, deployment and model, and its cost to the client's spend, which client budgets are
 * checked against at intake. Two paths, because only one of them is on a promise's clock:
 * - spend (a job with a known cost): written at once, and the job waits for it, for at most
 *   `settleMs`: a client that reads its answer and sends the next request then finds this job's
 *   spend counted, so a budget is overshot by no more than the requests in flight;
 * - usage (requests, tokens, cost per combination): summed in the process and written every
 *   `flushMs`, one script per combination and minute, as call metrics are (state/metrics.ts). A
 *   job costs a map update instead of fifteen Redis commands; GET /v1/usage and /metrics see it
 *   within `flushMs`; a worker killed without a drain loses at most that much usage (never spend).
 * Safe like the call reports (router/reporter.ts): a Redis hiccup is logged and counted, never fails
 * a job whose result is in hand; past `maxPending` writes in flight (or combinations waiting) new
 * ones are dropped rather than queued without bound.
 */
import { ANONYMOUS_CLIENT, type JobResult, type Logger, type QueuedJobData, usdToMicros } from '@switchyard/shared';
import type { UsageRecord } from '@switchyard/state';

export interface UsageSink {
  /** Adds usage: one record may sum several jobs (`requests`) of one combination and minute. */
  countUsage(record: UsageRecord): Promise<void>;
  /** Adds a job's cost (micro-dollars) to its client's spend. */
  addSpend(client: string, costMicros: number, at: number): Promise<void>;
}

export interface UsageReporterOptions {
  /** Writes in flight, and combinations waiting for a flush, past which new ones are dropped. */
  maxPending?: number;
  /** Longest a job waits for its spend write. */
  settleMs?: number;
  /** How often summed usage is written. */
  flushMs?: number;
}

const MINUTE_MS = 60_000;

export class UsageReporter {
  private readonly pending = new Set<Promise<void>>();
  /** Usage not yet written, per combination and minute. */
  private waiting = new Map<string, UsageRecord & { requests: number }>();
  private flushTimer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private failed = 0;
  private readonly maxPending: number;
  private readonly settleMs: number;
  private readonly flushMs: number;

  constructor(
    private readonly sink: UsageSink,
    private readonly logger: Logger,
    options: UsageReporterOptions = {},
  ) {
    this.maxPending = options.maxPending ?? 10_000;
    this.settleMs = options.settleMs ?? 500;
    this.flushMs = options.flushMs ?? 250;
  }

  get stats(): { pending: number; waiting: number; dropped: number; failed: number } {
    return { pending: this.pending.size, waiting: this.waiting.size, dropped: this.dropped, failed: this.failed };
  }

  /**
   * A completed job: its usage, summed for the next flush, and its cost, added to its client's
   * spend. Resolves when the spend is written (at once when there is none), or after `settleMs`
   * (the write goes on); never rejects.
   */
  completed(jobId: string, data: QueuedJobData, result: JobResult): Promise<void> {
    const { usage } = result;
    const deployment = result.deployment ?? result.provider;
    const client = data.client ?? ANONYMOUS_CLIENT;
    const at = Date.now();
    const costMicros = usage.cost_usd === undefined ? undefined : usdToMicros(usage.cost_usd);
    this.sum(jobId, {
      client,
      route: result.route,
      deployment,
      model: result.model,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      costMicros,
      at,
    });
    if (!costMicros || costMicros <= 0) return Promise.resolve();
    const write = this.track(jobId, deployment, () => this.sink.addSpend(client, costMicros, at), 'usage.spend');
    return write ? this.settled([write], this.settleMs).then(() => {}) : Promise.resolve();
  }

  /** Writes the summed usage now and waits (at most `timeoutMs`) for every write in flight. True when all landed. */
  drain(timeoutMs: number): Promise<boolean> {
    this.flush();
    return this.settled([...this.pending], timeoutMs);
  }

  private sum(jobId: string, record: UsageRecord): void {
    const key = JSON.stringify([record.client, record.route ?? null, record.deployment, record.model, Math.floor(record.at / MINUTE_MS)]);
    const waiting = this.waiting.get(key);
    if (waiting) {
      waiting.requests += 1;
      waiting.promptTokens += record.promptTokens;
      waiting.completionTokens += record.completionTokens;
      if (record.costMicros !== undefined) waiting.costMicros = (waiting.costMicros ?? 0) + record.costMicros;
    } else if (this.waiting.size >= this.maxPending) {
      this.dropped += 1;
      this.logger.warn({ jobId, provider: record.deployment, waiting: this.waiting.size }, 'usage.report.dropped');
      return;
    } else {
      this.waiting.set(key, { ...record, requests: 1 });
    }
    this.flushTimer ??= setTimeout(() => this.flush(), this.flushMs).unref();
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const records = this.waiting;
    this.waiting = new Map();
    for (const record of records.values()) {
      this.track(`${record.requests} jobs`, record.deployment, () => this.sink.countUsage(record), 'usage.report');
    }
  }

  /** Starts a write, bounded and counted; undefined when dropped. Never rejects. */
  private track(jobId: string, deployment: string, start: () => Promise<void>, event: string): Promise<void> | undefined {
    if (this.pending.size >= this.maxPending) {
      this.dropped += 1;
      this.logger.warn({ jobId, provider: deployment, pending: this.pending.size }, `${event}.dropped`);
      return undefined;
    }
    let started: Promise<void>;
    try {
      started = start();
    } catch (err) {
      started = Promise.reject(err);
    }
    const write: Promise<void> = started.then(
      () => {
        this.pending.delete(write);
      },
      (err: unknown) => {
        this.pending.delete(write);
        this.failed += 1;
        this.logger.warn({ jobId, provider: deployment, error: err instanceof Error ? err.message : String(err) }, `${event}.failed`);
      },
    );
    this.pending.add(write);
    return write;
  }

  /** True when every write settled within `timeoutMs` (they never reject: failures are handled above). */
  private async settled(writes: Promise<void>[], timeoutMs: number): Promise<boolean> {
    const all = Promise.all(writes).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const settled = await Promise.race([all, late]);
    clearTimeout(timer);
    return settled;
  }
}
