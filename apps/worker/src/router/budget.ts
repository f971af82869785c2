/**
 * Owns a job's time budget: one AbortController for everything the job starts. It aborts exactly
 * at the deadline (no grace, no final sweep: a 30 s budget once ran 50 s without this), or earlier
 * when a linked external signal aborts (client cancel, shutdown). The abort reason says which.
 */

import { type Disposable, type Event, EventEmitter } from './events.ts';
import type { Clock } from './types.ts';

export type BudgetEndReason = 'budget' | 'cancelled';

/** The `reason` of a budget's aborted signal: tells our own budget expiry from an external cancel. */
export class BudgetAbort extends Error {
  constructor(
    readonly kind: BudgetEndReason,
    message: string,
    /** For `cancelled`: the external signal's own reason (e.g. shutdown vs client cancel). */
    readonly externalReason?: unknown,
  ) {
    super(message);
    this.name = 'BudgetAbort';
  }
}

export class Budget implements Disposable {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unlink: () => void = () => {};
  private readonly ended = new EventEmitter<BudgetAbort>();
  readonly startedAt: number;
  readonly deadline: number;
  /** Fires once, when the budget runs out or the external signal aborts. */
  readonly onEnd: Event<BudgetAbort> = this.ended.event;

  constructor(
    readonly budgetMs: number,
    private readonly clock: Clock,
    external?: AbortSignal,
  ) {
    this.startedAt = clock.now();
    this.deadline = this.startedAt + Math.max(0, budgetMs);
    if (external?.aborted) {
      this.end(new BudgetAbort('cancelled', 'job cancelled before it started', external.reason));
      return;
    }
    if (external) {
      const onAbort = () => this.end(new BudgetAbort('cancelled', 'job cancelled', external.reason));
      external.addEventListener('abort', onAbort, { once: true });
      this.unlink = () => external.removeEventListener('abort', onAbort);
    }
    this.timer = setTimeout(() => this.end(new BudgetAbort('budget', `job budget of ${budgetMs} ms exhausted`)), Math.max(0, budgetMs));
  }

  /** Aborted when the job must stop: every call of the job is linked to it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get endReason(): BudgetAbort | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as BudgetAbort) : undefined;
  }

  elapsedMs(): number {
    return this.clock.now() - this.startedAt;
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - this.clock.now());
  }

  /**
   * Ends the budget now if the clock says its deadline has passed, and tells whether it has ended.
   * After an event-loop stall Node runs expired timers grouped by duration, so a provider's
   * deadline or the hedge timer can run before this budget's own (overdue) timer: whatever they
   * would start or conclude next must see the budget as spent.
   */
  expireIfDue(): boolean {
    if (!this.controller.signal.aborted && this.remainingMs() <= 0) {
      this.end(new BudgetAbort('budget', `job budget of ${this.budgetMs} ms exhausted`));
    }
    return this.controller.signal.aborted;
  }

  /** Stops the timer and unlinks the external signal; does not abort. Call when the job settles. */
  dispose(): void {
    clearTimeout(this.timer);
    this.unlink();
  }

  private end(reason: BudgetAbort): void {
    if (this.controller.signal.aborted) return;
    this.dispose();
    this.controller.abort(reason);
    this.ended.emit(reason);
  }
}
