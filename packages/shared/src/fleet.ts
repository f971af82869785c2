/**
 * The port between the router (apps/worker) and the shared state store (packages/state): what a
 * worker asks before calling a provider, and what it reports after. The state package implements
 * it against Redis; the router depends only on this interface.
 */
import type { ErrorClass } from './errors.ts';
import type { ProviderName } from './models.ts';

export type Admission =
  /** Traffic may go. `probeLeaseId` is set when this call is the fleet's single half-open probe. */
  | { admitted: true; probeLeaseId?: string }
  /** Skip this provider: its circuit is open (or another process holds the probe), or it is cooling down after a 429. */
  | { admitted: false; reason: 'circuit_open' | 'cooldown'; retryAtMs: number };

export interface CallOutcome {
  provider: ProviderName;
  model: string;
  outcome: 'success' | ErrorClass;
  latencyMs: number;
  /** For rate_limited: how long the provider asked everyone to wait. */
  retryAfterMs?: number;
  /** Secret-free, short. */
  message?: string;
  /** Echoes Admission.probeLeaseId, so the probe's result closes or re-opens the circuit. */
  probeLeaseId?: string;
}

export interface FleetState {
  /** Decide whether a call to `provider` may start now. Fast: one round trip. */
  admit(provider: ProviderName): Promise<Admission>;
  /**
   * The admission when it is known in this process without a round trip (the store's view says the
   * provider is clean: closed, no failures, no cooldown), else undefined: then ask `admit`.
   */
  admitNow?(provider: ProviderName): Admission | undefined;
  /** Record a call's outcome: breaker, provider state, cooldown, metrics. Never throws. */
  report(outcome: CallOutcome): Promise<void>;
}
