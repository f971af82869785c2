/**
 * Owns composition: createStateStore() builds every part of the state store on one Redis client
 * and one namespace, wired explicitly (no part reaches for another's keys), and exposes the few
 * calls the API and the worker need next to the parts themselves.
 */
import type { RedisClient } from '@switchyard/shared';
import { CircuitBreaker, ConsecutiveFailures, FailureRateWindow, GrowingReset, ProbeLease } from './circuit-breaker.ts';
import { RateLimitCooldown } from './cooldown.ts';
import { DeploymentDirectory } from './deployments.ts';
import { type StateEvent, type StateEventSubscription, subscribeStateEvents } from './events.ts';
import { RedisFleetState } from './fleet-state.ts';
import { StateKeys } from './keys.ts';
import type { StateLogger } from './logger.ts';
import { MetricsRecorder } from './metrics.ts';
import { MetricsReader } from './metrics-reader.ts';
import { resolveOptions, type StateConfig, type StateOptions } from './options.ts';
import { ProviderStateRecords } from './provider-state.ts';
import { ProviderView } from './provider-view.ts';
import { ScriptRunner } from './scripts.ts';
import { StatusCache } from './status-cache.ts';
import { UsageStore } from './usage.ts';
import { WorkerRegistry } from './workers.ts';

export interface StateStore {
  readonly namespace: string;
  readonly keys: StateKeys;
  /** The FleetState port for the router. */
  readonly fleet: RedisFleetState;
  readonly breaker: CircuitBreaker;
  readonly cooldown: RateLimitCooldown;
  readonly records: ProviderStateRecords;
  readonly status: StatusCache;
  readonly metrics: MetricsReader;
  readonly workers: WorkerRegistry;
  /** Usage and spend per client, route, deployment and model; client budgets (usage.ts). */
  readonly usage: UsageStore;
  /** The pub/sub channel of state events (see events.ts for the schema). */
  readonly eventsChannel: string;

  admit: RedisFleetState['admit'];
  report: RedisFleetState['report'];
  getStatus: StatusCache['getStatus'];
  readDailyMetrics: MetricsReader['readDailyMetrics'];
  readMinuteSeries: MetricsReader['readMinuteSeries'];
  readCounters: MetricsReader['readCounters'];
  heartbeat: WorkerRegistry['heartbeat'];
  listWorkers: WorkerRegistry['listWorkers'];
  /** The configured deployments: replaced on a config reload (status and metrics follow at once). */
  readonly deployments: DeploymentDirectory;
  /** Subscribes to state events on a connection of its own. */
  subscribe(onEvent: (event: StateEvent) => void): StateEventSubscription;
  /** Writes the metrics this process has added up and not yet written (they go every metricsFlushMs anyway). */
  flush(): Promise<void>;
  /** Writes pending metrics and waits for background status refreshes; the Redis client stays the caller's to close. */
  close(): Promise<void>;
}

export function createStateStore(redis: RedisClient, config: StateConfig, logger: StateLogger, options: StateOptions = {}): StateStore {
  const o = resolveOptions(config, options);
  const namespace = config.SWITCHYARD_NAMESPACE;
  const keys = new StateKeys(namespace);
  const channel = keys.eventsChannel();
  const runner = new ScriptRunner(redis, options.scriptObserver);
  const deployments = new DeploymentDirectory(redis, keys, logger, config.providers);

  const breaker = new CircuitBreaker(
    redis,
    runner,
    keys,
    {
      consecutive: new ConsecutiveFailures(config.CIRCUIT_FAILURE_THRESHOLD),
      failureRate: new FailureRateWindow(config.CIRCUIT_FAILURE_RATE, config.CIRCUIT_WINDOW_MS, config.CIRCUIT_MIN_CALLS),
      reset: new GrowingReset(config.CIRCUIT_RESET_MS, o.resetMultiplier, o.maxResetMs),
      probe: new ProbeLease(config.CIRCUIT_PROBE_LEASE_MS),
    },
    channel,
    logger,
  );
  const cooldown = new RateLimitCooldown(redis, runner, keys, channel, o.defaultCooldownMs, o.maxCooldownMs);
  const records = new ProviderStateRecords(redis, runner, keys, channel, logger);
  const recorder = new MetricsRecorder(keys, runner, o.minuteRetentionMs);
  const view =
    o.viewMaxAgeMs > 0
      ? {
          providers: new ProviderView({
            maxAgeMs: o.viewMaxAgeMs,
            activeWriteEveryMs: o.viewMaxAgeMs,
            // A failure-rate window counts every call, successes included.
            skipCleanSuccesses: config.CIRCUIT_FAILURE_RATE === 0,
            clock: o.clock,
          }),
          subscribe: (onEvent: (event: StateEvent) => void, onLive: (live: boolean) => void) =>
            subscribeStateEvents(redis, namespace, onEvent, logger, onLive),
        }
      : undefined;
  const fleet = new RedisFleetState(
    redis,
    { breaker, cooldown, records, metrics: recorder, ...(view ? { view } : {}) },
    { clock: o.clock, reportTimeoutMs: o.reportTimeoutMs, maxPendingReports: o.maxPendingReports, metricsFlushMs: o.metricsFlushMs },
    logger,
  );
  const status = new StatusCache(
    redis,
    runner,
    keys,
    { records, breaker, cooldown },
    deployments,
    options.prober,
    {
      freshMs: config.STATUS_FRESH_MS,
      staleMs: config.STATUS_STALE_MS,
      probeTimeoutMs: config.PROBE_TIMEOUT_MS,
      refreshWaitMs: o.refreshWaitMs,
      clock: o.clock,
      memoMs: o.statusMemoMs,
    },
    logger,
  );
  const metrics = new MetricsReader(redis, keys, deployments, o.clock, { breaker, cooldown, records });
  const workers = new WorkerRegistry(redis, keys, o.clock, o.workerTtlMs, logger);
  const usage = new UsageStore(redis, keys, runner, o.clock);

  return {
    namespace,
    keys,
    fleet,
    breaker,
    cooldown,
    records,
    status,
    metrics,
    workers,
    usage,
    eventsChannel: channel,
    deployments,
    admit: (provider) => fleet.admit(provider),
    report: (outcome) => fleet.report(outcome),
    getStatus: (opts) => status.getStatus(opts),
    readDailyMetrics: (days) => metrics.readDailyMetrics(days),
    readMinuteSeries: (minutes) => metrics.readMinuteSeries(minutes),
    readCounters: () => metrics.readCounters(),
    heartbeat: (info) => workers.heartbeat(info),
    listWorkers: () => workers.listWorkers(),
    subscribe: (onEvent) => subscribeStateEvents(redis, namespace, onEvent, logger),
    flush: () => fleet.flush(),
    close: async () => {
      await Promise.all([fleet.close(), status.drain()]);
    },
  };
}
