/**
 * Owns telling the fleet how each call went (FleetState.report): fire-and-forget and bounded. A
 * report is never awaited on a job's path, a report that fails or throws is logged and counted,
 * never allowed to fail the job whose result is already in hand, and past `maxPending` reports in
 * flight new ones are dropped rather than queued without bound. `drain` lets shutdown wait (with a
 * deadline) for what is still in flight.
 */
import type { CallOutcome, FleetState, Logger } from '@switchyard/shared';
import { type Event, EventEmitter } from './events.ts';

export class OutcomeReporter {
  private readonly pending = new Set<Promise<void>>();
  private droppedCount = 0;
  private failedCount = 0;
  private readonly failed = new EventEmitter<{ outcome: CallOutcome; error: string }>();
  /** Fires when a report could not be delivered (store error, or dropped because too many are pending). */
  readonly onReportFailed: Event<{ outcome: CallOutcome; error: string }> = this.failed.event;

  constructor(
    private readonly fleet: FleetState,
    private readonly maxPending: number,
    private readonly logger: Logger,
  ) {}

  get stats(): { pending: number; dropped: number; failed: number } {
    return { pending: this.pending.size, dropped: this.droppedCount, failed: this.failedCount };
  }

  report(outcome: CallOutcome): void {
    if (this.pending.size >= this.maxPending) {
      this.droppedCount++;
      this.fail(outcome, `more than ${this.maxPending} reports in flight`);
      return;
    }
    let sent: Promise<void>;
    try {
      sent = Promise.resolve(this.fleet.report(outcome));
    } catch (err) {
      sent = Promise.reject(err);
    }
    const tracked: Promise<void> = sent.then(
      () => {
        this.pending.delete(tracked);
      },
      (err: unknown) => {
        this.pending.delete(tracked);
        this.failedCount++;
        this.fail(outcome, err instanceof Error ? err.message : String(err));
      },
    );
    this.pending.add(tracked);
  }

  /** Waits until every report in flight has settled, or `timeoutMs` passed. True when all settled. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      while (this.pending.size > 0) {
        const settled = await Promise.race([Promise.all([...this.pending]).then(() => true as const), deadline]);
        if (!settled) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(outcome: CallOutcome, error: string): void {
    this.logger.warn({ provider: outcome.provider, outcome: outcome.outcome, error }, 'router.report.failed');
    this.failed.emit({ outcome, error });
  }
}
