import { createRedis, loadConfig } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createStateStore, type StateEvent } from '../src/index.ts';

const namespace = testNamespace('sub');
afterAll(() => deleteNamespace(testRedisUrl(), namespace));

describe('state events', () => {
  it('subscribe() works on a request-path client (no offline queue), the kind the API holds', async () => {
    const config = loadConfig({ REDIS_URL: testRedisUrl(), SWITCHYARD_NAMESPACE: namespace, CIRCUIT_FAILURE_THRESHOLD: '2' });
    const redis = createRedis(config, 'request', 'subscribe-test');
    await waitFor(() => redis.status === 'ready', 'redis ready');
    const store = createStateStore(redis, config, { warn() {}, error() {}, info() {}, debug() {} } as never);
    const events: StateEvent[] = [];
    const subscription = store.subscribe((event) => events.push(event));
    await subscription.ready;
    for (let i = 0; i < 2; i++) await store.report({ provider: 'mock', model: 'echo', outcome: 'service_unavailable', latencyMs: 5 });
    const opened = await waitFor(() => events.find((e) => e.type === 'circuit' && e.to === 'open'), 'circuit open event', 15_000);
    expect(opened).toMatchObject({ type: 'circuit', provider: 'mock', to: 'open' });
    await subscription.close();
    await store.close();
    redis.disconnect();
  });
});
