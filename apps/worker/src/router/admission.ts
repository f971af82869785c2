/**
 * Owns the question "may a call to this provider start now?" for one process. It asks the fleet
 * (FleetState.admit: breaker and 429 cooldown, shared by every replica) and keeps that round trip
 * off the hot path where it is safe to:
 * - a denial is remembered locally until its retryAtMs (capped), so skipping an open circuit or a
 *   cooling-down provider costs microseconds, and `no_provider_available` comes at once;
 * - a 429 this process sees starts the local cooldown before the fleet report even lands;
 * - the round trip has a deadline; a slow or failing store admits the call (fail-open, logged),
 *   because a Redis hiccup must not fail jobs the providers could serve.
 * Admissions are never cached positively: the fleet-wide breaker must see every call's admission.
 * A half-open probe lease that arrives too late to be used (deadline, abort) is handed back.
 */
import type { AbortSignalLike, Admission, DeploymentId, FleetState, Logger } from '@switchyard/shared';
import { type Event, EventEmitter } from './events.ts';

export type Denial = Extract<Admission, { admitted: false }>;

export interface AdmissionOptions {
  timeoutMs: number;
  denialCacheMaxMs: number;
  /** Hands an unused probe lease back to the fleet (reported as an `aborted` outcome carrying it). */
  releaseLease: (provider: DeploymentId, model: string, probeLeaseId: string) => void;
  logger: Logger;
  /** Wall-clock milliseconds, the clock of Admission.retryAtMs. */
  wallNow?: () => number;
}

export interface DeniedEvent {
  provider: DeploymentId;
  reason: Denial['reason'];
  retryAtMs: number;
  cached: boolean;
}

const ABORTED = Symbol('aborted');
const MAX_LOCAL_COOLDOWN_MS = 300_000;

export class AdmissionControl {
  private readonly denials = new Map<DeploymentId, { denial: Denial; until: number }>();
  private readonly wallNow: () => number;
  private readonly denied = new EventEmitter<DeniedEvent>();
  private readonly failedOpen = new EventEmitter<{ provider: DeploymentId; error: string }>();
  /** Fires for every denial, from the fleet or from the local cache. */
  readonly onDenied: Event<DeniedEvent> = this.denied.event;
  /** Fires when the store did not answer in time or failed, and the call was admitted anyway. */
  readonly onFailOpen: Event<{ provider: DeploymentId; error: string }> = this.failedOpen.event;

  constructor(
    private readonly fleet: FleetState,
    private readonly options: AdmissionOptions,
  ) {
    this.wallNow = options.wallNow ?? Date.now;
  }

  /** A denial still known locally, without a round trip. */
  cachedDenial(provider: DeploymentId): Denial | undefined {
    const entry = this.denials.get(provider);
    if (!entry) return undefined;
    if (this.wallNow() >= entry.until) {
      this.denials.delete(provider);
      return undefined;
    }
    this.denied.emit({ provider, reason: entry.denial.reason, retryAtMs: entry.denial.retryAtMs, cached: true });
    return entry.denial;
  }

  /** This process saw a 429: cool the provider down locally at once (the fleet hears it through the report). */
  noteCooldown(provider: DeploymentId, retryAfterMs: number): void {
    if (!(retryAfterMs > 0)) return;
    const retryAtMs = this.wallNow() + retryAfterMs;
    const current = this.denials.get(provider);
    if (current && current.until >= retryAtMs) return;
    // Our own observation: kept for exactly as long as the provider asked (bounded for sanity).
    const until = Math.min(retryAtMs, this.wallNow() + MAX_LOCAL_COOLDOWN_MS);
    this.denials.set(provider, { denial: { admitted: false, reason: 'cooldown', retryAtMs }, until });
  }

  /** This process's probe succeeded: the circuit is closing, forget what we knew. */
  forget(provider: DeploymentId): void {
    this.denials.delete(provider);
  }

  /** The admission when it is known without a round trip (a local denial, or the fleet's view), else undefined. */
  admitNow(provider: DeploymentId): Admission | undefined {
    return this.cachedDenial(provider) ?? this.fleet.admitNow?.(provider);
  }

  /**
   * Asks the fleet. Resolves with the admission, or with `aborted` when `signal` aborts first (a
   * lease granted after that is handed back). Never rejects.
   */
  admit(provider: DeploymentId, model: string, signal: AbortSignalLike): Promise<Admission | typeof ABORTED> {
    const cached = this.cachedDenial(provider);
    if (cached) return Promise.resolve(cached);
    if (signal.aborted) return Promise.resolve(ABORTED);
    return new Promise((resolve) => {
      let delivered = false;
      const deliver = (value: Admission | typeof ABORTED) => {
        if (delivered) return false;
        delivered = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(value);
        return true;
      };
      const failOpen = (error: string) => {
        if (delivered) return;
        this.options.logger.warn({ provider, error }, 'router.admit.fail_open');
        this.failedOpen.emit({ provider, error });
        deliver({ admitted: true });
      };
      const onAbort = () => deliver(ABORTED);
      // Timers run before I/O in Node's loop: after a long busy stretch the deadline fires while the
      // store's answer already waits unread on the socket. One turn of I/O first (setImmediate) lets
      // that answer win; failing open on a loaded worker would let calls through an open circuit.
      const timer = setTimeout(() => setImmediate(() => failOpen(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });

      let pending: Promise<Admission>;
      try {
        pending = Promise.resolve(this.fleet.admit(provider));
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (admission) => {
          if (!admission.admitted) this.remember(provider, admission);
          if (!deliver(admission) && admission.admitted && admission.probeLeaseId) {
            this.options.releaseLease(provider, model, admission.probeLeaseId);
          }
        },
        (err: unknown) => failOpen(err instanceof Error ? err.message : String(err)),
      );
    });
  }

  static isAborted(value: Admission | typeof ABORTED): value is typeof ABORTED {
    return value === ABORTED;
  }

  private remember(provider: DeploymentId, denial: Denial): void {
    const now = this.wallNow();
    const until = Math.min(denial.retryAtMs, now + this.options.denialCacheMaxMs);
    if (until > now) this.denials.set(provider, { denial, until });
    this.denied.emit({ provider, reason: denial.reason, retryAtMs: denial.retryAtMs, cached: false });
  }
}
