/**
 * Owns the API process's dependencies: built once by createApiContext() (main.ts, or a test) and
 * handed to the app, and closed in the reverse order.
 */

import { type FleetRuntime, FleetRuntimeSource, type ProviderAdapter } from '@switchyard/providers';
import {
  type ClientConfig,
  type Config,
  createRedis,
  type FleetConfig,
  type Logger,
  type RedisClient,
  waitForRedis,
} from '@switchyard/shared';
import { createStateStore, type DeploymentEntry, type ProbeFn, type StateStore } from '@switchyard/state';
import { FleetModels } from './fleet-models.ts';
import { CompletionHub } from './jobs/completion-hub.ts';
import { JobEventHub } from './jobs/event-hub.ts';
import { JobService } from './jobs/job-service.ts';

export interface ApiContext {
  config: Config;
  logger: Logger;
  /** Request-path connection: fails fast while Redis is down (no offline queue). */
  redis: RedisClient;
  jobs: JobService;
  hub: CompletionHub;
  /** Per-job event subscriptions (SSE, streaming completions), on the hub's subscriber connection. */
  events: JobEventHub;
  /** The fleet-wide state store: provider status, circuits, metrics, workers. */
  state: StateStore;
  /** The running fleet config and its adapters (model lists and health probes: the API never calls chat); swapped on reload. */
  fleet: FleetRuntimeSource;
  /** What `model` means under the running config: every face checks names here. */
  models: FleetModels;
  /** Named clients (keys, budgets) of the running fleet config: auth and the budget guard read them per request, so a reload takes effect at once. */
  clients: () => readonly ClientConfig[];
  /**
   * Whether the queue's and the subscriber's connections are up (no I/O: their client state).
   * Each connection reconnects on its own schedule after an outage, so the request connection
   * answering PING does not mean submissions and completion wake-ups work yet (GET /readyz).
   */
  otherConnections: () => { queue: boolean; subscriber: boolean };
}

export interface ApiContextOptions {
  /** Replaces the adapters' own health probes (tests). */
  prober?: ProbeFn;
  /** Named clients that replace the fleet config's (tests); default: the running fleet config's. */
  clients?: readonly ClientConfig[];
  /** An already loaded fleet config (tests); default: SWITCHYARD_CONFIG, else the implicit one. */
  fleet?: FleetRuntimeSource;
}

export function deploymentEntries(config: FleetConfig): DeploymentEntry[] {
  return config.deployments.map((d) => ({ name: d.id, kind: d.provider }));
}

/** The status cache's probe: the adapter's own (one attempt, its deadline, no retries). */
export function adapterProber(adapters: () => ReadonlyMap<string, ProviderAdapter>): ProbeFn {
  return async (deployment, { signal, timeoutMs }) => {
    const adapter = adapters().get(deployment);
    if (!adapter) return { state: 'unknown', latencyMs: 0 };
    return adapter.probe({ signal, timeoutMs });
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: ApiContext;
  }
}

export interface ApiResources extends ApiContext {
  close(): Promise<void>;
}

/**
 * Connects to Redis (within `connectDeadlineMs`, else throws with a clear message), subscribes to
 * completions and builds the job service and the state store: the state store and reads on the
 * request connection, the job queue on one of its own with the same fail-fast settings.
 */
export async function createApiContext(
  config: Config,
  logger: Logger,
  connectDeadlineMs: number,
  options: ApiContextOptions = {},
): Promise<ApiResources> {
  // A bad config file fails here, before any connection is made (ConfigError names every problem).
  const fleet = options.fleet ?? FleetRuntimeSource.load(config, logger);
  // Usage and budgets: the clients of the running config, followed through reloads.
  const fixedClients = options.clients;
  const clients = fixedClients ? () => fixedClients : () => fleet.current.config.clients;
  const redis = createRedis(config, 'request', 'switchyard-api');
  // The job queue's own request connection: BullMQ defines its Lua commands on it (see autoPipelining),
  // so the submissions of one event-loop turn share a write by corking instead (redis-write-coalescing.ts).
  const queueRedis = createRedis(config, 'request', 'switchyard-api-queue', { autoPipelining: false, coalesceWrites: true });
  const subscriber = createRedis(config, 'blocking', 'switchyard-api-sub');
  redis.on('error', throttledWarning(logger, 'redis connection error'));
  queueRedis.on('error', throttledWarning(logger, 'redis queue connection error'));
  subscriber.on('error', throttledWarning(logger, 'redis subscriber error'));
  try {
    await Promise.all([
      waitForRedis(redis, connectDeadlineMs, config.REDIS_URL),
      waitForRedis(queueRedis, connectDeadlineMs, config.REDIS_URL),
    ]);
  } catch (err) {
    redis.disconnect();
    queueRedis.disconnect();
    subscriber.disconnect();
    throw err;
  }
  const hub = new CompletionHub(subscriber, config.SWITCHYARD_NAMESPACE, logger);
  await hub.start();
  const events = new JobEventHub(subscriber, redis, config.SWITCHYARD_NAMESPACE, logger);
  const models = new FleetModels(() => fleet.current, config);
  const jobs = new JobService(config, redis, hub, queueRedis, models);
  const state = createStateStore(redis, { ...config, providers: deploymentEntries(fleet.current.config) }, logger, {
    prober: options.prober ?? adapterProber(() => fleet.current.adapters),
  });
  fleet.onChange((next: FleetRuntime) => state.deployments.set(deploymentEntries(next.config)));
  fleet.start();
  return {
    config,
    logger,
    redis,
    jobs,
    hub,
    events,
    state,
    fleet,
    models,
    clients,
    otherConnections: () => ({ queue: queueRedis.status === 'ready', subscriber: subscriber.status === 'ready' }),
    async close() {
      await fleet.stop().catch(() => {});
      await state.close().catch(() => {});
      await jobs.close().catch(() => {});
      events.close();
      await hub.close().catch(() => {});
      redis.disconnect();
      queueRedis.disconnect();
    },
  };
}

/** ioredis reports every failed reconnect: one warning per 10 s is enough to see an outage. */
function throttledWarning(logger: Logger, text: string): (err: Error) => void {
  let last = 0;
  return (err) => {
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    logger.warn({ err: { message: err.message } }, text);
  };
}
