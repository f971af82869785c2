/**
 * Owns counting a finished job's usage and spend (CONTRACT.md, "Usage, spend and client budgets"):
 * when a job ends with usage, its tokens and cost go to the fleet's usage store under the job's
 * client, route, deployment and model, which is also what client budgets are checked against at
 * intake. Safe like the call reports (router/reporter.ts): one pipeline per job; a Redis hiccup is
 * logged and counted, never fails a job whose result is in hand; past `maxPending` writes in flight
 * new ones are dropped rather than queued without bound. Unlike them, the job waits for its write,
 * for at most `settleMs`: a client that reads its answer and sends the next request then finds this
 * job's spend counted, so a budget is overshot by no more than the requests in flight.
 */
import { ANONYMOUS_CLIENT, type JobResult, type Logger, type QueuedJobData, usdToMicros } from '@switchyard/shared';
import type { UsageRecord } from '@switchyard/state';

export interface UsageSink {
  record(record: UsageRecord): Promise<void>;
}

export class UsageReporter {
  private readonly pending = new Set<Promise<void>>();
  private dropped = 0;
  private failed = 0;

  constructor(
    private readonly sink: UsageSink,
    private readonly logger: Logger,
    private readonly maxPending = 10_000,
    private readonly settleMs = 500,
  ) {}

  get stats(): { pending: number; dropped: number; failed: number } {
    return { pending: this.pending.size, dropped: this.dropped, failed: this.failed };
  }

  /**
   * A completed job: its result's usage, counted under the client that submitted it. Resolves when
   * written, or after `settleMs` (the write goes on); never rejects.
   */
  completed(jobId: string, data: QueuedJobData, result: JobResult): Promise<void> {
    const { usage } = result;
    const deployment = result.deployment ?? result.provider;
    const record: UsageRecord = {
      client: data.client ?? ANONYMOUS_CLIENT,
      route: result.route,
      deployment,
      model: result.model,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      costMicros: usage.cost_usd === undefined ? undefined : usdToMicros(usage.cost_usd),
      at: Date.now(),
    };
    if (this.pending.size >= this.maxPending) {
      this.dropped += 1;
      this.logger.warn({ jobId, provider: deployment, pending: this.pending.size }, 'usage.report.dropped');
      return Promise.resolve();
    }
    const write: Promise<void> = this.sink.record(record).then(
      () => {
        this.pending.delete(write);
      },
      (err: unknown) => {
        this.pending.delete(write);
        this.failed += 1;
        this.logger.warn({ jobId, provider: deployment, error: err instanceof Error ? err.message : String(err) }, 'usage.report.failed');
      },
    );
    this.pending.add(write);
    return this.settled([write], this.settleMs).then(() => {});
  }

  /** For shutdown: waits (at most `timeoutMs`) for writes still in flight. True when all landed. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.settled([...this.pending], timeoutMs);
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
