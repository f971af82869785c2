/**
 * Owns one process's view of which providers are plainly healthy fleet-wide: circuit closed, no
 * counted failure since the last success, no 429 cooldown. While a provider is clean, the hot path
 * leaves out three Redis writes per call: the admission script (answered from memory), the
 * breaker's success record (it would reset a counter that is already 0), and the provider-state
 * write (refreshed at most once per `activeWriteEveryMs`).
 *
 * The view is a cache of the fleet's truth, never a second source: it is fed by the state events
 * the Lua scripts publish in the same atomic step as each change (circuit transitions, the first
 * failure of a streak, cooldowns, provider-state changes) and by this process's own admissions and
 * reports; it trusts nothing while its subscription is down and nothing older than `maxAgeMs`.
 * What it can miss is bounded by pub/sub latency: a success skipped while another process's first
 * failure is on its way leaves that failure counted (the next success anyone reports resets it).
 */
import type { DeploymentId } from '@switchyard/shared';
import type { StateEvent } from './events.ts';

export interface ProviderViewOptions {
  /** Longest a "clean" verdict is trusted without Redis confirming it again. */
  maxAgeMs: number;
  /** A success refreshes the provider's `active` record at most this often per process. */
  activeWriteEveryMs: number;
  /** Skip the breaker's success write while clean. Off when a failure-rate window counts every call. */
  skipCleanSuccesses: boolean;
  clock: () => number;
}

export class ProviderView {
  /** provider -> when it was last confirmed clean. */
  private readonly cleanSince = new Map<DeploymentId, number>();
  /** provider -> when this process last wrote `active` for it. */
  private readonly activeWrittenAt = new Map<DeploymentId, number>();
  private live = false;

  constructor(private readonly options: ProviderViewOptions) {}

  /** Whether the subscription to state events is up: without it nothing is trusted. */
  setLive(live: boolean): void {
    this.live = live;
    if (!live) {
      this.cleanSince.clear();
      this.activeWrittenAt.clear();
    }
  }

  /** Calls to the provider may be admitted from memory. */
  isClean(provider: DeploymentId): boolean {
    if (!this.live) return false;
    const since = this.cleanSince.get(provider);
    if (since === undefined) return false;
    if (this.options.clock() - since < this.options.maxAgeMs) return true;
    this.cleanSince.delete(provider);
    return false;
  }

  /** A success need not reach the breaker: its counter is known to be 0 already. */
  canSkipSuccess(provider: DeploymentId): boolean {
    return this.options.skipCleanSuccesses && this.isClean(provider);
  }

  /** True (and remembered) when this success should refresh the provider's `active` record. */
  claimActiveWrite(provider: DeploymentId): boolean {
    const now = this.options.clock();
    const last = this.activeWrittenAt.get(provider);
    if (this.live && last !== undefined && now - last < this.options.activeWriteEveryMs) return false;
    this.activeWrittenAt.set(provider, now);
    return true;
  }

  /** A problem state was just written for the provider: the next success writes `active` again. */
  forgetActiveWrite(provider: DeploymentId): void {
    this.activeWrittenAt.delete(provider);
  }

  /** The admission script just said: closed, 0 consecutive failures, no cooldown. */
  confirmClean(provider: DeploymentId): void {
    if (this.live) this.cleanSince.set(provider, this.options.clock());
  }

  /** Something is wrong with the provider (a failure seen here or announced): ask Redis again. */
  taint(provider: DeploymentId): void {
    this.cleanSince.delete(provider);
  }

  onEvent(event: StateEvent): void {
    // Only the admission script, which reads circuit and cooldown together, confirms a provider
    // clean; any circuit or cooldown news sends the next admission back to it.
    if (event.type === 'circuit' || event.type === 'cooldown') {
      this.taint(event.provider);
    } else if (event.to !== 'active') {
      // Another process or a probe recorded a problem: the next success here writes `active` again.
      this.forgetActiveWrite(event.provider);
    }
  }
}
