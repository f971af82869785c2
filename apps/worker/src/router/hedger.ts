/**
 * Owns the race of one job: which candidate is called when, and when the job is decided.
 *
 * The model is "lanes". The job opens one lane (the primary). A lane runs one call at a time; when
 * its call fails with a fallback-worthy class it moves straight on to the next candidate (a
 * fallback, free), and when a candidate is skipped (open circuit, cooldown) it moves on too. The
 * hedge timer opens extra lanes: HEDGE_DELAY_MS after a lone call started, then HEDGE_STAGGER_MS
 * apart, each only with a token from the process's hedge bucket. Same-provider retries
 * (retrySameProvider classes) are tickets that become ready after a backoff or the provider's
 * retry-after; a lane with nothing ready waits for them, within the budget.
 *
 * The job is decided by the first of: a success (wins, every other call aborted at once); a failure
 * whose class forbids fallback (fails the job, every other call aborted); the committed stream's
 * failure; the budget or the external signal (every call aborted, the job ends at that instant);
 * no lane left (every candidate failed or was skipped).
 * Streaming: the first token commits the job to its call; every other call is aborted and nothing
 * new starts, so after that point a failure reaches the client as an error, never as a fallback.
 */
import type { ChatResult } from '@switchyard/providers';
import { type Attempt, CLASS_POLICY, type ErrorClass, type JobResult, type Logger } from '@switchyard/shared';
import { retryDelayMs } from './backoff.ts';
import type { Budget, BudgetAbort } from './budget.ts';
import type { EventEmitter } from './events.ts';
import type { HedgeTokenBucket } from './hedge-tokens.ts';
import { type AbortCause, CallAborted, type CallHost, type CallResult, type CallServices, ProviderCall } from './provider-call.ts';
import { RouterError } from './router-error.ts';
import type {
  CallEndEvent,
  CallKind,
  CallStartEvent,
  Candidate,
  CommitEvent,
  HedgeThrottledEvent,
  RouteJob,
  RouterConfig,
  RouterTuning,
  SkipEvent,
} from './types.ts';
import { budgetEnded, exhausted, type Failure, refused, type Skip, streamBroken, successResult, type Verdict } from './verdicts.ts';

/** Router-level emitters the hedger fires into (payloads carry the job id). */
export interface HedgerEmitters {
  callStart: EventEmitter<CallStartEvent>;
  callEnd: EventEmitter<CallEndEvent>;
  skip: EventEmitter<SkipEvent>;
  commit: EventEmitter<CommitEvent>;
  hedgeThrottled: EventEmitter<HedgeThrottledEvent>;
}

export interface HedgerDeps {
  config: RouterConfig;
  tuning: RouterTuning;
  services: CallServices;
  bucket: HedgeTokenBucket;
  emitters: HedgerEmitters;
  logger: Logger;
}

/** A candidate that may be launched once `notBefore` (monotonic ms) has passed. */
interface Ticket {
  candidate: Candidate;
  notBefore: number;
  /** 0 for the candidate's first call; n for its n-th same-provider retry. */
  retryNo: number;
}

const THROTTLED_RECHECK_MS = 50;
const noop = () => {};

export class Hedger implements CallHost {
  private readonly tickets: Ticket[];
  private readonly calls = new Set<ProviderCall>();
  private readonly attempts: Attempt[] = [];
  private readonly failures: Failure[] = [];
  private readonly skips: Skip[] = [];
  private idleLanes = 0;
  private hedgeTimer: NodeJS.Timeout | undefined;
  /** When the armed hedge is due, on the router's clock. */
  private hedgeDueAt = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private committed: ProviderCall | undefined;
  private tokensEmitted = false;
  private settled = false;
  // Set by run(); a shared no-op until then (a closure per Hedger would be wrapped by tsx's keepNames).
  private resolve: (result: JobResult) => void = noop;
  private reject: (err: RouterError) => void = noop;

  constructor(
    private readonly job: RouteJob,
    candidates: readonly Candidate[],
    private readonly budget: Budget,
    private readonly deps: HedgerDeps,
  ) {
    this.tickets = candidates.map((candidate) => ({ candidate, notBefore: 0, retryNo: 0 }));
  }

  run(): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      const ended = this.budget.endReason;
      if (ended) {
        this.endByBudget(ended);
        return;
      }
      this.budget.onEnd((reason) => this.endByBudget(reason));
      this.openLane('primary');
    });
  }

  // ---- lanes -------------------------------------------------------------------------------

  private openLane(kind: CallKind): void {
    if (this.settled) return;
    const ticket = this.takeReadyTicket();
    if (ticket) {
      this.launch(ticket, ticket.retryNo > 0 && kind !== 'hedge' ? 'retry' : kind);
      return;
    }
    if (this.tickets.length > 0) {
      this.idleLanes++;
      this.armWake();
      return;
    }
    this.decideIfStuck();
  }

  private launch(ticket: Ticket, kind: CallKind): void {
    // No call starts after the deadline, even while the budget's timer is overdue (it ends the job now).
    if (this.budget.expireIfDue()) return;
    const { candidate } = ticket;
    const call = new ProviderCall(
      {
        jobId: this.job.id,
        candidate,
        kind,
        request: this.job.request,
        adapter: candidate.adapter,
        jobStartedAt: this.budget.startedAt,
        onJobEnd: this.budget.onEnd,
        logger: this.deps.logger,
        host: this,
      },
      this.deps.services,
    );
    this.calls.add(call);
    this.armHedge(this.calls.size <= 1 ? this.deps.config.HEDGE_DELAY_MS : this.deps.config.HEDGE_STAGGER_MS);
    call.run().then(
      (result) => this.onCallDone(call, ticket, kind, result),
      (err: unknown) => this.onCallDone(call, ticket, kind, { type: 'failed', errorClass: 'invalid_response', message: String(err) }),
    );
  }

  private onCallDone(call: ProviderCall, ticket: Ticket, kind: CallKind, result: CallResult): void {
    this.calls.delete(call);
    if (this.settled) return;
    switch (result.type) {
      case 'success':
        this.win(call, result.result);
        return;
      case 'skipped':
        this.skips.push({ candidate: ticket.candidate, reason: result.reason });
        this.deps.emitters.skip.emit({
          jobId: this.job.id,
          deployment: ticket.candidate.deployment,
          provider: ticket.candidate.provider,
          model: ticket.candidate.model,
          reason: result.reason,
        });
        this.deps.logger.info(
          {
            deployment: ticket.candidate.deployment,
            provider: ticket.candidate.provider,
            model: ticket.candidate.model,
            reason: result.reason,
          },
          'router.skip',
        );
        // The same lane moves on, with the same right to exist (a hedge stays a hedge).
        this.openLane(kind);
        return;
      case 'aborted':
        // We aborted it (a stream committed elsewhere): its lane ends.
        this.decideIfStuck();
        return;
      case 'failed':
        this.onFailure(call, ticket, result.errorClass, result.message, result.retryAfterMs);
        return;
    }
  }

  private onFailure(call: ProviderCall, ticket: Ticket, errorClass: ErrorClass, message: string, retryAfterMs?: number): void {
    const failure: Failure = { candidate: ticket.candidate, errorClass, message };
    this.failures.push(failure);
    if (this.committed) {
      if (this.committed === call) this.fail(streamBroken(failure));
      return;
    }
    const policy = CLASS_POLICY[errorClass];
    // `aborted` without our abort is the adapter's oddity, not a verdict on the request: move on.
    if (errorClass !== 'aborted' && !policy.tryNextCandidate) {
      this.fail(refused(failure));
      return;
    }
    if (policy.retrySameProvider) this.scheduleRetry(ticket, errorClass, retryAfterMs);
    this.openLane('fallback');
  }

  private scheduleRetry(ticket: Ticket, errorClass: ErrorClass, retryAfterMs?: number): void {
    const { tuning } = this.deps;
    if (ticket.retryNo >= tuning.maxSameProviderRetries) return;
    const delay = retryDelayMs(errorClass, ticket.retryNo, retryAfterMs, {
      baseMs: tuning.backoffBaseMs,
      maxMs: tuning.backoffMaxMs,
      random: tuning.random,
    });
    const notBefore = this.deps.services.clock.now() + delay;
    if (this.budget.deadline - notBefore < tuning.retryMinRemainingMs) {
      this.deps.logger.debug({ deployment: ticket.candidate.deployment, delayMs: delay }, 'router.retry.beyond_budget');
      return;
    }
    this.tickets.push({ candidate: ticket.candidate, notBefore, retryNo: ticket.retryNo + 1 });
  }

  private takeReadyTicket(): Ticket | undefined {
    const now = this.deps.services.clock.now();
    const at = this.tickets.findIndex((t) => t.notBefore <= now);
    return at === -1 ? undefined : this.tickets.splice(at, 1)[0];
  }

  /** Idle lanes wake when the earliest retry ticket is ready. */
  private armWake(): void {
    clearTimeout(this.wakeTimer);
    if (this.idleLanes === 0 || this.tickets.length === 0) return;
    const earliest = Math.min(...this.tickets.map((t) => t.notBefore));
    this.wakeTimer = setTimeout(() => this.onWake(), Math.max(0, Math.ceil(earliest - this.deps.services.clock.now())));
  }

  private onWake(): void {
    if (this.settled) return;
    while (this.idleLanes > 0) {
      const ticket = this.takeReadyTicket();
      if (!ticket) break;
      this.idleLanes--;
      this.launch(ticket, 'retry');
    }
    if (this.idleLanes > 0 && this.tickets.length > 0) {
      this.armWake();
      return;
    }
    this.idleLanes = 0;
    this.decideIfStuck();
  }

  /** Nothing runs and no lane waits: every candidate failed or was skipped. */
  private decideIfStuck(): void {
    if (this.settled || this.calls.size > 0 || this.idleLanes > 0) return;
    if (this.tickets.length > 0) {
      this.idleLanes++;
      this.armWake();
      return;
    }
    // Out of candidates because the budget is spent (its timer overdue after a stall): a budget
    // verdict, not "no provider available".
    if (this.budget.expireIfDue()) return;
    this.fail(exhausted(this.failures, this.skips));
  }

  // ---- hedging -----------------------------------------------------------------------------

  private armHedge(delayMs: number): void {
    clearTimeout(this.hedgeTimer);
    if (this.settled || this.committed || this.tickets.length === 0) return;
    this.hedgeDueAt = this.deps.services.clock.now() + delayMs;
    this.hedgeTimer = setTimeout(() => this.onHedgeTimer(), Math.max(0, delayMs));
  }

  private onHedgeTimer(): void {
    if (this.settled || this.committed) return;
    const now = this.deps.services.clock.now();
    // Node's timers count from the event loop's cached time, so one can fire a millisecond before
    // its delay has passed on the clock: a hedge never starts before its delay.
    if (now < this.hedgeDueAt) {
      this.hedgeTimer = setTimeout(() => this.onHedgeTimer(), Math.ceil(this.hedgeDueAt - now));
      return;
    }
    // Future tickets are retries waiting out a backoff: they are not hedge material.
    if (!this.tickets.some((t) => t.notBefore <= now)) return;
    if (!this.deps.bucket.tryTake()) {
      const tokens = this.deps.bucket.available;
      this.deps.emitters.hedgeThrottled.emit({ jobId: this.job.id, tokens });
      this.deps.logger.debug({ tokens }, 'router.hedge.throttled');
      this.armHedge(Math.max(this.deps.config.HEDGE_STAGGER_MS, THROTTLED_RECHECK_MS));
      return;
    }
    this.openLane('hedge');
  }

  // ---- call callbacks ------------------------------------------------------------------------

  remainingMs(): number {
    return this.budget.remainingMs();
  }

  get streams(): boolean {
    return this.job.onToken !== undefined;
  }

  callStarted(call: ProviderCall): void {
    const { kind } = call;
    if (kind === 'primary') this.deps.bucket.earn();
    const { candidate } = call;
    this.deps.emitters.callStart.emit({
      jobId: this.job.id,
      deployment: candidate.deployment,
      provider: candidate.provider,
      model: candidate.model,
      kind,
      startedMs: Math.round(this.budget.elapsedMs()),
    });
  }

  callAttempt(call: ProviderCall, attempt: Attempt): void {
    this.attempts.push(attempt);
    this.deps.emitters.callEnd.emit({ jobId: this.job.id, kind: call.kind, attempt });
  }

  callToken(call: ProviderCall, delta: string): void {
    if (this.settled) return;
    if (!this.committed) this.commit(call);
    if (this.committed !== call) return;
    this.tokensEmitted = true;
    try {
      this.job.onToken?.(delta);
    } catch (err) {
      this.deps.logger.warn({ deployment: call.candidate.deployment, error: String(err) }, 'router.stream.sink_failed');
    }
  }

  /** The first token: this call is the job's answer; nothing else runs or starts. */
  private commit(call: ProviderCall): void {
    this.committed = call;
    clearTimeout(this.hedgeTimer);
    clearTimeout(this.wakeTimer);
    this.tickets.length = 0;
    this.idleLanes = 0;
    this.abortCalls('hedge_lost', call);
    const { candidate } = call;
    const atMs = Math.round(this.budget.elapsedMs());
    this.deps.emitters.commit.emit({
      jobId: this.job.id,
      deployment: candidate.deployment,
      provider: candidate.provider,
      model: candidate.model,
      atMs,
    });
    this.deps.logger.debug({ provider: candidate.provider, model: candidate.model, atMs }, 'router.stream.commit');
  }

  // ---- decisions ---------------------------------------------------------------------------

  private win(call: ProviderCall, result: ChatResult): void {
    this.settle('hedge_lost', call);
    this.resolve(successResult(call.candidate, result, this.budget.elapsedMs(), this.sortedAttempts()));
  }

  private endByBudget(reason: BudgetAbort): void {
    if (this.settled) return;
    // The calls have already recorded themselves as aborted (they listen to the budget's signal).
    this.fail(budgetEnded(reason, this.calls.size, this.failures.at(-1), this.committed?.candidate));
  }

  private fail(verdict: Verdict): void {
    this.settle(verdict.reason === 'budget' || verdict.reason === 'cancelled' ? verdict.reason : 'job_failed');
    this.reject(new RouterError({ ...verdict, attempts: this.sortedAttempts(), tokensEmitted: this.tokensEmitted }));
  }

  private settle(cause: AbortCause, winner?: ProviderCall): void {
    this.settled = true;
    clearTimeout(this.hedgeTimer);
    clearTimeout(this.wakeTimer);
    this.abortCalls(cause, winner);
    this.budget.dispose();
  }

  private abortCalls(cause: AbortCause, except?: ProviderCall): void {
    for (const call of [...this.calls]) if (call !== except) call.abort(new CallAborted(cause));
  }

  private sortedAttempts(): Attempt[] {
    return [...this.attempts].sort((a, b) => a.started_ms - b.started_ms);
  }
}
