/**
 * Test helpers for the state package: a real Redis client, a state config built by hand (the
 * environment is not read), a unique namespace per test, cleanup of that namespace only.
 */
import type { DeploymentId } from '@switchyard/shared';
import { createLogger } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { createStateStore, type StateConfig, type StateOptions, type StateStore } from '../src/index.ts';

export const silentLogger = createLogger({ name: 'state-test', level: 'silent' });

export function stateConfig(namespace: string, overrides: Partial<StateConfig> = {}): StateConfig {
  return {
    SWITCHYARD_NAMESPACE: namespace,
    CIRCUIT_FAILURE_THRESHOLD: 5,
    CIRCUIT_RESET_MS: 200,
    CIRCUIT_PROBE_LEASE_MS: 300,
    CIRCUIT_FAILURE_RATE: 0,
    CIRCUIT_WINDOW_MS: 60_000,
    CIRCUIT_MIN_CALLS: 20,
    STATUS_FRESH_MS: 60_000,
    STATUS_STALE_MS: 300_000,
    PROBE_TIMEOUT_MS: 1_000,
    providers: [{ name: 'openai' as DeploymentId }, { name: 'mock' as DeploymentId }],
    ...overrides,
  };
}

export interface TestContext {
  namespace: string;
  redis: Redis;
  store: StateStore;
  /** Another store on the same namespace and its own connection: a second process's view. */
  makeStore(overrides?: Partial<StateConfig>, options?: StateOptions): StateStore;
  cleanup(): Promise<void>;
}

export async function setup(label: string, overrides: Partial<StateConfig> = {}, options: StateOptions = {}): Promise<TestContext> {
  const namespace = testNamespace(label);
  const clients: Redis[] = [];
  const stores: StateStore[] = [];
  const connect = () => {
    const client = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  };
  const redis = connect();
  const makeStore = (more: Partial<StateConfig> = {}, moreOptions: StateOptions = {}) => {
    const store = createStateStore(connect(), stateConfig(namespace, { ...overrides, ...more }), silentLogger, {
      ...options,
      ...moreOptions,
    });
    stores.push(store);
    return store;
  };
  const store = createStateStore(redis, stateConfig(namespace, overrides), silentLogger, options);
  stores.push(store);
  return {
    namespace,
    redis,
    store,
    makeStore,
    cleanup: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      await deleteNamespace(testRedisUrl(), namespace);
    },
  };
}

export const failure = (provider: DeploymentId, outcome: Parameters<StateStore['report']>[0]['outcome'], extra = {}) => ({
  provider,
  model: 'm',
  outcome,
  latencyMs: 10,
  ...extra,
});
