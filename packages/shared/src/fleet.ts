/**
 * The port between the router (apps/worker) and the shared state store (packages/state): what a
 * worker asks before calling a provider, and what it reports after. The state package implements
 * it against Redis; the router depends only on this interface.
 */
import type { ErrorClass } from './errors.ts';

/**
 * The unit of health: one deployment (endpoint + key) of the fleet config. Breakers, cooldowns,
 * state records, gates and metrics are keyed by it; without a config file each enabled provider is
 * an implicit deployment named after it (`openai`, `mock`), so its keys are those of the provider.
 */
export type DeploymentId = string;

export const DEPLOYMENT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function isDeploymentId(value: unknown): value is DeploymentId {
  return typeof value === 'string' && DEPLOYMENT_ID_PATTERN.test(value);
}

export type Admission =
  /** Traffic may go. `probeLeaseId` is set when this call is the fleet's single half-open probe. */
  | { admitted: true; probeLeaseId?: string }
  /** Skip this provider: its circuit is open (or another process holds the probe), or it is cooling down after a 429. */
  | { admitted: false; reason: 'circuit_open' | 'cooldown'; retryAtMs: number };

export interface CallOutcome {
  /** The deployment called: its breaker, state, cooldown and metrics take the outcome. */
  provider: DeploymentId;
  model: string;
  outcome: 'success' | ErrorClass;
  latencyMs: number;
  /** For rate_limited: how long the provider asked everyone to wait. */
  retryAfterMs?: number;
  /** Secret-free, short. */
  message?: string;
  /** Echoes Admission.probeLeaseId, so the probe's result closes or re-opens the circuit. */
  probeLeaseId?: string;
  /**
   * No call was made: an unused probe lease handed back (outcome `aborted`). The breaker releases
   * the lease; metrics count nothing, since calls in metrics are calls some job made.
   */
  leaseOnly?: boolean;
}

export interface FleetState {
  /** Decide whether a call to `provider` may start now. Fast: one round trip. */
  admit(provider: DeploymentId): Promise<Admission>;
  /**
   * The admission when it is known in this process without a round trip (the store's view says the
   * provider is clean: closed, no failures, no cooldown), else undefined: then ask `admit`.
   */
  admitNow?(provider: DeploymentId): Admission | undefined;
  /** Record a call's outcome: breaker, provider state, cooldown, metrics. Never throws. */
  report(outcome: CallOutcome): Promise<void>;
}
