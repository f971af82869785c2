/**
 * Owns one provider call of a job, from start to its single recorded outcome:
 * local denial check -> concurrency slot -> fleet admission -> adapter.chat -> outcome.
 * It records exactly one Attempt and sends exactly one report per call that reached the provider,
 * whatever races happen: a call we abort (hedge loser, budget, cancel, a failed job) is recorded
 * and reported as `aborted` at the moment we abort it, and a late answer from the adapter is then
 * ignored. Its concurrency slot is given back when the adapter settles (or, for an adapter that
 * ignores its signal, `abortGraceMs` after the abort).
 */
import type { ChatResult, ProviderAdapter } from '@switchyard/providers';
import {
  type AbortSignalLike,
  type Attempt,
  type ErrorClass,
  isErrorClass,
  LightAbortController,
  type Logger,
  redactSecrets,
} from '@switchyard/shared';
import { AdmissionControl } from './admission.ts';
import type { BudgetAbort } from './budget.ts';
import type { ProviderGates, Release } from './concurrency-gate.ts';
import type { Disposable, Event } from './events.ts';
import type { OutcomeReporter } from './reporter.ts';
import type { CallKind, Candidate, Clock, RouteRequest, SkipReason } from './types.ts';

export type CallResult =
  | { type: 'success'; result: ChatResult }
  | { type: 'failed'; errorClass: ErrorClass; message: string; retryAfterMs?: number }
  | { type: 'skipped'; reason: SkipReason }
  | { type: 'aborted' };

/** Why we aborted a call; the adapter only sees that its signal aborted. */
export type AbortCause = 'hedge_lost' | 'job_failed' | 'budget' | 'cancelled';

const ABORT_MESSAGES: Record<AbortCause, string> = {
  hedge_lost: 'aborted: another call of the job won',
  job_failed: 'aborted: the job failed on another call',
  budget: 'aborted: the job budget ran out',
  cancelled: 'aborted: the job was cancelled',
};

export class CallAborted extends Error {
  constructor(readonly why: AbortCause) {
    super(ABORT_MESSAGES[why]);
    this.name = 'CallAborted';
  }
}

/** What a call needs from the process (shared by every job). */
export interface CallServices {
  gates: ProviderGates;
  admission: AdmissionControl;
  reporter: OutcomeReporter;
  clock: Clock;
  abortGraceMs: number;
  attemptTimeoutMs: number;
  /** Hands an unused half-open probe lease back to the fleet. */
  releaseLease: (deployment: Candidate['deployment'], model: string, probeLeaseId: string) => void;
}

/** What a call needs from its job. */
export interface CallContext {
  jobId: string;
  candidate: Candidate;
  kind: CallKind;
  request: RouteRequest;
  adapter: ProviderAdapter | undefined;
  jobStartedAt: number;
  /** The job's end (budget or cancel): the call is aborted with it. */
  onJobEnd: Event<BudgetAbort>;
  logger: Logger;
  /** The job's side of the call (its Hedger). */
  host: CallHost;
}

/**
 * What a call tells its job, as methods of one object rather than closures per call: the worker
 * runs under tsx, whose esbuild keeps function names by wrapping every named closure in a
 * defineProperty call, per call made.
 */
export interface CallHost {
  remainingMs(): number;
  /** The job streams: only then are the call's text deltas passed to callToken. */
  readonly streams: boolean;
  callToken(call: ProviderCall, delta: string): void;
  /** The request went to the provider (after slot and admission). */
  callStarted(call: ProviderCall): void;
  /** The call's one Attempt, recorded when its outcome is known (or when we aborted it). */
  callAttempt(call: ProviderCall, attempt: Attempt): void;
}

const MAX_MESSAGE = 300;

export class ProviderCall {
  private readonly controller = new LightAbortController();
  private phase: 'waiting' | 'calling' | 'done' = 'waiting';
  private startedAt = 0;
  private probeLeaseId: string | undefined;
  private resolveCall: ((result: CallResult) => void) | undefined;
  /** The concurrency slot while the request is at the provider. */
  private release: Release | undefined;
  /** After our abort, gives the slot back if the adapter never settles. */
  private grace: NodeJS.Timeout | undefined;
  private readonly jobLink: Disposable;

  constructor(
    readonly ctx: CallContext,
    private readonly services: CallServices,
  ) {
    this.jobLink = ctx.onJobEnd((reason) => this.abort(new CallAborted(reason.kind === 'cancelled' ? 'cancelled' : 'budget')));
  }

  get kind(): CallKind {
    return this.ctx.kind;
  }

  get candidate(): Candidate {
    return this.ctx.candidate;
  }

  /** The signal the adapter sees; aborted by `abort`, or when the job ends. */
  get signal(): AbortSignalLike {
    return this.controller.signal;
  }

  /** The request is at the provider (not waiting for a slot or an admission). */
  get calling(): boolean {
    return this.phase === 'calling';
  }

  async run(): Promise<CallResult> {
    const { candidate, adapter } = this.ctx;
    const { admission, gates } = this.services;
    if (!adapter) return this.end({ type: 'skipped', reason: 'not_configured' });
    const known = admission.cachedDenial(candidate.deployment);
    if (known) return this.end({ type: 'skipped', reason: known.reason });

    // Free slot and a known admission (the usual case) cost no promise, timer or listener.
    const gate = gates.get(candidate.deployment);
    let release = this.signal.aborted ? undefined : gate.tryAcquire();
    if (!release) {
      try {
        release = await gate.acquire(this.signal);
      } catch {
        return this.end({ type: 'aborted' });
      }
    }
    const decision =
      admission.admitNow(candidate.deployment) ?? (await admission.admit(candidate.deployment, candidate.model, this.signal));
    if (AdmissionControl.isAborted(decision)) {
      release();
      return this.end({ type: 'aborted' });
    }
    if (!decision.admitted) {
      release();
      return this.end({ type: 'skipped', reason: decision.reason });
    }
    if (this.signal.aborted) {
      release();
      if (decision.probeLeaseId) this.services.releaseLease(candidate.deployment, candidate.model, decision.probeLeaseId);
      return this.end({ type: 'aborted' });
    }
    this.probeLeaseId = decision.probeLeaseId;
    return this.call(adapter, release);
  }

  /** Aborts the call. If the request is at the provider, records and reports it as `aborted` now. */
  abort(cause: CallAborted): void {
    if (this.phase === 'done' || this.signal.aborted) return;
    this.controller.abort(cause);
    if (this.phase === 'calling') {
      // The slot is held for as long as the upstream request really is in flight, but not forever
      // (nothing to wait for when the adapter has settled already: a late timeout turned `aborted`).
      if (this.release) {
        this.grace = setTimeout(ProviderCall.abortIgnored, this.services.abortGraceMs, this);
        this.grace.unref?.();
      }
      this.finish('aborted', cause.message);
      this.resolveCall?.({ type: 'aborted' });
    }
  }

  private static abortIgnored(call: ProviderCall): void {
    call.ctx.logger.warn(
      { deployment: call.candidate.deployment, provider: call.candidate.provider, model: call.candidate.model },
      'router.call.abort_ignored',
    );
    call.releaseSlot();
  }

  private releaseSlot(): void {
    clearTimeout(this.grace);
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  private call(adapter: ProviderAdapter, release: Release): Promise<CallResult> {
    const { candidate, request } = this.ctx;
    const { attemptTimeoutMs, abortGraceMs } = this.services;
    const remaining = this.ctx.host.remainingMs();
    // The provider's own deadline only when it falls inside the budget; otherwise the budget ends the
    // call first, as `aborted`, and a provider is never blamed (`timeout`) for our short budget.
    const timeoutMs = attemptTimeoutMs < remaining ? attemptTimeoutMs : Math.ceil(remaining) + abortGraceMs;
    const { host } = this.ctx;
    this.release = release;
    this.phase = 'calling';
    this.startedAt = this.services.clock.now();
    host.callStarted(this);
    this.ctx.logger.debug(
      { deployment: candidate.deployment, provider: candidate.provider, model: candidate.model, kind: this.ctx.kind },
      'router.call.start',
    );

    let pending: Promise<ChatResult>;
    try {
      pending = adapter.chat(
        { ...request, model: candidate.model },
        {
          signal: this.signal,
          timeoutMs,
          ...(host.streams
            ? {
                onToken: (delta: string) => {
                  if (this.phase === 'calling') host.callToken(this, delta);
                },
              }
            : {}),
        },
      );
    } catch (err) {
      pending = Promise.reject(err);
    }

    return new Promise<CallResult>((resolve) => {
      this.resolveCall = resolve;
      pending.then(
        (result) => {
          this.releaseSlot();
          if (this.phase !== 'calling') return;
          this.finish('success');
          resolve({ type: 'success', result });
        },
        (err: unknown) => {
          this.releaseSlot();
          if (this.phase !== 'calling') return;
          const failure = classify(err);
          if (failure.errorClass === 'timeout' && this.ctx.host.remainingMs() <= 0) {
            // After an event-loop stall Node runs expired timers grouped by duration, so this call's
            // own deadline can fire before the job budget's. The budget ended it: ours, never the
            // provider's fault, and it must not count toward the breaker.
            this.abort(new CallAborted('budget'));
            return;
          }
          this.finish(failure.errorClass, failure.message, failure.retryAfterMs);
          resolve({ type: 'failed', ...failure });
        },
      );
    });
  }

  private finish(outcome: 'success' | ErrorClass, message?: string, retryAfterMs?: number): void {
    this.phase = 'done';
    this.jobLink.dispose();
    const { candidate } = this.ctx;
    const { admission, reporter, clock } = this.services;
    const latencyMs = Math.max(0, Math.round(clock.now() - this.startedAt));
    const attempt: Attempt = {
      provider: candidate.provider,
      deployment: candidate.deployment,
      model: candidate.model,
      outcome,
      started_ms: Math.max(0, Math.round(this.startedAt - this.ctx.jobStartedAt)),
      latency_ms: latencyMs,
      hedge: this.ctx.kind === 'hedge',
      ...(message ? { message: truncate(message) } : {}),
    };
    reporter.report({
      provider: candidate.deployment,
      model: candidate.model,
      outcome,
      latencyMs,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(message ? { message: truncate(message) } : {}),
      ...(this.probeLeaseId ? { probeLeaseId: this.probeLeaseId } : {}),
    });
    if (outcome === 'rate_limited' && retryAfterMs !== undefined) admission.noteCooldown(candidate.deployment, retryAfterMs);
    if (outcome === 'success' && this.probeLeaseId) admission.forget(candidate.deployment);
    // A provider failing is operator news; successes and our own aborts are routine.
    const level = outcome === 'success' || outcome === 'aborted' ? 'debug' : 'info';
    this.ctx.logger[level](
      {
        deployment: candidate.deployment,
        provider: candidate.provider,
        model: candidate.model,
        outcome,
        latencyMs,
        kind: this.ctx.kind,
        ...(message ? { error: attempt.message } : {}),
      },
      'router.call.end',
    );
    this.ctx.host.callAttempt(this, attempt);
  }

  /** Ends a call that never reached the provider: nothing to record or report. */
  private end(result: CallResult): CallResult {
    this.phase = 'done';
    this.jobLink.dispose();
    return result;
  }
}

/** Adapters reject with ProviderError; anything else is an adapter bug, classed invalid_response. */
function classify(err: unknown): { errorClass: ErrorClass; message: string; retryAfterMs?: number } {
  if (err !== null && typeof err === 'object' && 'errorClass' in err && isErrorClass(err.errorClass)) {
    const e = err as { errorClass: ErrorClass; message?: unknown; retryAfterMs?: unknown };
    return {
      errorClass: e.errorClass,
      message: typeof e.message === 'string' ? e.message : e.errorClass,
      ...(typeof e.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs) ? { retryAfterMs: e.retryAfterMs } : {}),
    };
  }
  return { errorClass: 'invalid_response', message: `adapter failed without a classified error: ${String(err)}` };
}

/** Attempt and report messages reach clients and Redis: short, and scrubbed of anything key-like. */
function truncate(message: string): string {
  const clean = redactSecrets(message);
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1)}…` : clean;
}
