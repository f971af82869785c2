import { waitFor } from '@switchyard/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { setup, type TestContext } from './helpers.ts';

let t: TestContext;
afterEach(async () => {
  await t?.cleanup();
});

const info = (id: string, active = 0) => ({
  id,
  host: 'box-1',
  pid: 4242,
  concurrency: 16,
  active_jobs: active,
  started_at: 1_700_000_000_000,
});

describe('worker registry', () => {
  it('lists live workers; a worker that stops heartbeating disappears on its own', async () => {
    // A 2 s ttl: the live worker's 100 ms heartbeat keeps it through any stall this machine has.
    t = await setup('wk', {}, { workerTtlMs: 2_000 });
    const { store, redis } = t;
    await store.heartbeat(info('w-dead'));
    const handle = store.workers.startHeartbeat(() => info('w-live', 3), 100);
    const listed = await store.listWorkers();
    expect(listed.map((w) => w.id).sort()).toEqual(['w-dead', 'w-live']);
    expect(listed.find((w) => w.id === 'w-live')).toMatchObject({ host: 'box-1', pid: 4242, concurrency: 16, active_jobs: 3 });
    const pttl = await redis.pttl(store.keys.worker('w-dead'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(2_000);

    // The dead one is gone once its ttl has passed; the live one keeps renewing.
    await waitFor(async () => (await store.listWorkers()).map((w) => w.id).join() === 'w-live', 'dead worker to expire', 10_000);
    // Scrubbed from the set, not only hidden. The listing that first hid it may have run in the
    // moment its key had expired (Redis's clock) but its score not yet (ours, read a round trip
    // earlier); any listing after that one runs past the score, so it scrubs.
    await store.listWorkers();
    expect(await redis.zrange(store.keys.workersLive(), '0', '-1')).toEqual(['w-live']);

    await handle.stop();
    expect(await store.listWorkers()).toEqual([]);
  });

  it('rejects ids that could break the key layout, and skips corrupt entries', async () => {
    t = await setup('wk2');
    await expect(t.store.heartbeat(info('bad id with spaces'))).rejects.toThrow();
    await t.store.heartbeat(info('ok'));
    await t.redis.set(t.store.keys.worker('junk'), '{not json', 'PX', 10_000);
    await t.redis.zadd(t.store.keys.workersLive(), String(Date.now() + 10_000), 'junk');
    expect((await t.store.listWorkers()).map((w) => w.id)).toEqual(['ok']);
  });
});
