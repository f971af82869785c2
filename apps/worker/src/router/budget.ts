/**
 * Owns a job's time budget: one end for everything the job starts (`onEnd`; `signal` for whatever
 * needs an AbortSignal, made on first use). It ends exactly at the deadline (no grace, no final
 * sweep: a 30 s budget once ran 50 s without this), or earlier when a linked external signal aborts
 * (client cancel, shutdown). The end's reason says which.
 */

import type { AbortSignalLike } from '@switchyard/shared';
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
  private reason: BudgetAbort | undefined;
  /** Made only when someone asks for `signal`: an AbortController is the costliest object of a job. */
  private controller: AbortController | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private external: AbortSignalLike | undefined;
  private readonly ended = new EventEmitter<BudgetAbort>();
  readonly startedAt: number;
  readonly deadline: number;
  /** Fires once, when the budget runs out or the external signal aborts. */
  readonly onEnd: Event<BudgetAbort> = this.ended.event;

  constructor(
    readonly budgetMs: number,
    private readonly clock: Clock,
    external?: AbortSignalLike,
  ) {
    this.startedAt = clock.now();
    this.deadline = this.startedAt + Math.max(0, budgetMs);
    if (external?.aborted) {
      this.end(new BudgetAbort('cancelled', 'job cancelled before it started', external.reason));
      return;
    }
    if (external) {
      this.external = external;
      external.addEventListener('abort', this, { once: true });
    }
    this.timer = setTimeout(Budget.expire, Math.max(0, budgetMs), this);
  }

  private static expire(budget: Budget): void {
    budget.end(new BudgetAbort('budget', `job budget of ${budget.budgetMs} ms exhausted`));
  }

  /** The external signal aborted (this object is its listener: no closure per job). */
  handleEvent(): void {
    this.end(new BudgetAbort('cancelled', 'job cancelled', this.external?.reason));
  }

  /** Aborted when the job must stop, with the BudgetAbort as its reason. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get endReason(): BudgetAbort | undefined {
    return this.reason;
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
    if (!this.reason && this.remainingMs() <= 0) {
      this.end(new BudgetAbort('budget', `job budget of ${this.budgetMs} ms exhausted`));
    }
    return this.reason !== undefined;
  }

  /** Stops the timer and unlinks the external signal; does not abort. Call when the job settles. */
  dispose(): void {
    clearTimeout(this.timer);
    if (this.external) {
      this.external.removeEventListener('abort', this);
      this.external = undefined;
    }
  }

  private end(reason: BudgetAbort): void {
    if (this.reason) return;
    this.dispose();
    this.reason = reason;
    this.controller?.abort(reason);
    this.ended.emit(reason);
  }
}
