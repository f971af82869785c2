/**
 * Owns what the state store is configured with: the environment variables it reads (a slice of
 * the shared Config, so tests and child processes can build one by hand) and the tuning knobs
 * that are not environment variables, with their defaults.
 */
import type { Config, DeploymentId, DeploymentKind } from '@switchyard/shared';
import type { ScriptObserver } from './scripts.ts';
import type { ProbeFn } from './status-cache.ts';

export type StateConfig = Pick<
  Config,
  | 'SWITCHYARD_NAMESPACE'
  | 'CIRCUIT_FAILURE_THRESHOLD'
  | 'CIRCUIT_RESET_MS'
  | 'CIRCUIT_PROBE_LEASE_MS'
  | 'CIRCUIT_FAILURE_RATE'
  | 'CIRCUIT_WINDOW_MS'
  | 'CIRCUIT_MIN_CALLS'
  | 'STATUS_FRESH_MS'
  | 'STATUS_STALE_MS'
  | 'PROBE_TIMEOUT_MS'
> & {
  /**
   * The configured deployments (the status cache reports these): `name` is the deployment id, `kind`
   * its provider kind (absent: the id names the provider, as implicit deployments do).
   */
  providers: ReadonlyArray<{ name: DeploymentId; kind?: DeploymentKind }>;
};

export interface StateOptions {
  /** Health probe of one provider (the providers package's adapter.probe). Without it, status is cache-only. */
  prober?: ProbeFn;
  /** Epoch milliseconds; every process of a fleet must agree to within a small fraction of the reset time. */
  clock?: () => number;
  /** Each failed probe multiplies the reset time by this (1 = constant). Default 2. */
  resetMultiplier?: number;
  /** Cap of the grown reset time. Default 8 x CIRCUIT_RESET_MS. */
  maxResetMs?: number;
  /** Cooldown after a 429 that named no retry-after. Default 1000 ms. */
  defaultCooldownMs?: number;
  /** Longest cooldown honoured, whatever retry-after says. Default 10 minutes. */
  maxCooldownMs?: number;
  /** A report that has not reached Redis by then is dropped (and logged). Default 1000 ms. */
  reportTimeoutMs?: number;
  /** Reports in flight beyond this are dropped at once instead of queueing while Redis is down. Default 10000. */
  maxPendingReports?: number;
  /** How long a status reader waits for another process's refresh before serving the cache. Default PROBE_TIMEOUT_MS + 500. */
  refreshWaitMs?: number;
  /** A worker missing heartbeats this long disappears from listWorkers(). Default 15000 ms. */
  workerTtlMs?: number;
  /** Per-minute series retention. Default 6 hours. */
  minuteRetentionMs?: number;
  /**
   * Metrics are added up in the process and written this often (a worker's last ones by close()).
   * 0 writes them with each report. Default 250 ms.
   */
  metricsFlushMs?: number;
  /**
   * How long this process trusts that a provider is clean (closed, no failures, no cooldown)
   * before the admission script confirms it again; in between, admissions come from memory and
   * successes skip the breaker write (provider-view.ts). 0 sends every call to Redis. Default 1000 ms.
   */
  viewMaxAgeMs?: number;
  /** A cache-hit status answer is reused in-process this long (status-cache.ts). 0: off. Default 200 ms. */
  statusMemoMs?: number;
  /** Sees every Lua script call (keys only): used by the cluster-slot test. */
  scriptObserver?: ScriptObserver;
}

export interface ResolvedOptions {
  clock: () => number;
  resetMultiplier: number;
  maxResetMs: number;
  defaultCooldownMs: number;
  maxCooldownMs: number;
  reportTimeoutMs: number;
  maxPendingReports: number;
  refreshWaitMs: number;
  workerTtlMs: number;
  minuteRetentionMs: number;
  metricsFlushMs: number;
  viewMaxAgeMs: number;
  statusMemoMs: number;
}

export function resolveOptions(config: StateConfig, options: StateOptions = {}): ResolvedOptions {
  return {
    clock: options.clock ?? Date.now,
    resetMultiplier: options.resetMultiplier ?? 2,
    maxResetMs: Math.max(options.maxResetMs ?? config.CIRCUIT_RESET_MS * 8, config.CIRCUIT_RESET_MS),
    defaultCooldownMs: options.defaultCooldownMs ?? 1_000,
    maxCooldownMs: options.maxCooldownMs ?? 600_000,
    reportTimeoutMs: options.reportTimeoutMs ?? 1_000,
    maxPendingReports: options.maxPendingReports ?? 10_000,
    refreshWaitMs: options.refreshWaitMs ?? config.PROBE_TIMEOUT_MS + 500,
    workerTtlMs: options.workerTtlMs ?? 15_000,
    minuteRetentionMs: options.minuteRetentionMs ?? 6 * 3_600_000,
    metricsFlushMs: Math.max(0, options.metricsFlushMs ?? 250),
    viewMaxAgeMs: Math.max(0, options.viewMaxAgeMs ?? 1_000),
    statusMemoMs: Math.max(0, options.statusMemoMs ?? 200),
  };
}
