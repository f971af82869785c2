/**
 * The provider view on a real Redis (provider-view.ts): while a provider is clean fleet-wide,
 * admissions come from memory and successes skip the breaker; news from any other process (its
 * first failure, a trip, a cooldown) reaches this one through state events well before the view's
 * own expiry, and the next call goes back to Redis. The stores here trust a clean verdict for a
 * minute and every wait below gives up well before that, so only the events can make these tests
 * pass, however slow the machine.
 */
import { testRedisUrl, waitFor, watchRedisCommands } from '@switchyard/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderView } from '../src/index.ts';
import { failure, setup, type TestContext } from './helpers.ts';

let t: TestContext;
afterEach(async () => {
  await t?.cleanup();
});

/** Script calls Redis runs for one namespace, named by their first keys. */
async function watchScripts(namespace: string) {
  const watch = await watchRedisCommands(
    testRedisUrl(),
    (c) => (c.name === 'evalsha' || c.name === 'eval') && String(c.args[2]).startsWith(namespace),
  );
  const name = ({ args }: { args: string[] }) => {
    const [first, second] = [String(args[2]), String(args[3])];
    if (first.endsWith(':circuit') && second.endsWith(':cooldown')) return 'admit';
    if (first.endsWith(':circuit') && second.endsWith(':window')) return 'circuit-record';
    if (first.endsWith(':state')) return 'provider-state';
    return first;
  };
  return {
    calls: () => watch.commands.map(name),
    settle: () => watch.settle(),
    stop: () => watch.stop(),
  };
}

/** How long a clean verdict is trusted here: far beyond any wait below. */
const VIEW_MAX_AGE_MS = 60_000;
/** Deadline for news to arrive by event: generous for a loaded machine, far under the expiry. */
const EVENT_DEADLINE_MS = 10_000;

function setupView(label: string, overrides: Parameters<typeof setup>[1] = {}) {
  return setup(label, overrides, { viewMaxAgeMs: VIEW_MAX_AGE_MS });
}

/** The first admission subscribes the view; admissions go to Redis until it listens and confirms the provider clean. */
async function primeClean(store: TestContext['store'], provider: 'openai' | 'mock'): Promise<void> {
  await waitFor(
    async () => {
      expect(await store.admit(provider)).toEqual({ admitted: true });
      return store.fleet.admitNow(provider) !== undefined || null;
    },
    `${provider} confirmed clean from memory`,
    EVENT_DEADLINE_MS,
    20,
  );
}

describe('provider view', () => {
  it('a clean provider: admissions from memory, successes skip the breaker and most state writes', async () => {
    t = await setupView('pv1');
    const scripts = await watchScripts(t.namespace);
    await primeClean(t.store, 'openai');
    await scripts.settle();
    expect(scripts.calls().filter((c) => c === 'admit').length).toBeGreaterThanOrEqual(1);
    const before = scripts.calls().length;
    for (let i = 0; i < 100; i++) {
      expect(await t.store.admit('openai')).toEqual({ admitted: true });
      await t.store.report(failure('openai', 'success', { latencyMs: 10 }));
    }
    // Whatever the store still had to write is written (flush), and seen by the monitor (settle).
    await t.store.flush();
    await scripts.settle();
    scripts.stop();
    const during = scripts.calls().slice(before);
    expect(during.filter((c) => c === 'admit')).toEqual([]);
    expect(during.filter((c) => c === 'circuit-record')).toEqual([]);
    expect(during.filter((c) => c === 'provider-state').length).toBeLessThanOrEqual(1);
    expect((await t.store.records.read('openai'))?.state).toBe('active');
    await t.store.flush();
    expect(await t.redis.hget(t.store.keys.provider('openai').metricsTotal, 'success')).toBe('100');
  });

  it("another process's first failure: this one's next success resets the counter", async () => {
    t = await setupView('pv2');
    const other = t.makeStore();
    await primeClean(t.store, 'openai');
    await t.store.report(failure('openai', 'success'));
    await other.report(failure('openai', 'timeout'));
    const circuit = t.store.keys.provider('openai').circuit;
    expect(await t.redis.hget(circuit, 'consecutive_failures')).toBe('1');
    await waitFor(
      async () => {
        await t.store.report(failure('openai', 'success'));
        return (await t.redis.hget(circuit, 'consecutive_failures')) === '0' || null;
      },
      'the success written',
      EVENT_DEADLINE_MS,
      10,
    );
  });

  it('a circuit tripped or a cooldown started elsewhere: this process stops admitting at once', async () => {
    t = await setupView('pv3', { CIRCUIT_FAILURE_THRESHOLD: 3 });
    const other = t.makeStore();
    await Promise.all([primeClean(t.store, 'openai'), primeClean(t.store, 'mock')]);
    for (let i = 0; i < 3; i++) await other.report(failure('openai', 'service_unavailable'));
    await other.report(failure('mock', 'rate_limited', { retryAfterMs: 5_000 }));
    await waitFor(async () => ((await t.store.admit('openai')).admitted === false ? true : null), 'openai denied', EVENT_DEADLINE_MS, 5);
    await waitFor(async () => ((await t.store.admit('mock')).admitted === false ? true : null), 'mock denied', EVENT_DEADLINE_MS, 5);
    expect(await t.store.admit('openai')).toMatchObject({ admitted: false, reason: 'circuit_open' });
    expect(await t.store.admit('mock')).toMatchObject({ admitted: false, reason: 'cooldown' });
  });

  it('with a failure-rate window every success still reaches the breaker', async () => {
    t = await setupView('pv4', { CIRCUIT_FAILURE_RATE: 0.5, CIRCUIT_MIN_CALLS: 4 });
    await primeClean(t.store, 'openai');
    for (let i = 0; i < 6; i++) await t.store.report(failure('openai', 'success'));
    for (let i = 0; i < 4; i++) await t.store.report(failure('openai', 'timeout'));
    // 6 successes and 4 failures: 40% < 50%, closed; had the successes been skipped: 4 of 4, open.
    expect((await t.store.breaker.read('openai')).state).toBe('closed');
  });
});

describe('ProviderView (unit)', () => {
  it('trusts nothing while its subscription is down, and nothing older than its expiry', () => {
    let now = 0;
    const view = new ProviderView({ maxAgeMs: 1_000, activeWriteEveryMs: 1_000, skipCleanSuccesses: true, clock: () => now });
    view.confirmClean('openai');
    expect(view.isClean('openai')).toBe(false); // not live yet: not even remembered
    view.setLive(true);
    view.confirmClean('openai');
    expect(view.canSkipSuccess('openai')).toBe(true);
    now = 999;
    expect(view.isClean('openai')).toBe(true);
    now = 1_000;
    expect(view.isClean('openai')).toBe(false);
    view.confirmClean('openai');
    view.setLive(false);
    expect(view.isClean('openai')).toBe(false);
    view.setLive(true);
    expect(view.isClean('openai')).toBe(false); // forgotten, not just hidden
    expect(view.claimActiveWrite('openai')).toBe(true);
    expect(view.claimActiveWrite('openai')).toBe(false);
    view.onEvent({ type: 'provider_state', provider: 'openai', from: 'active', to: 'timeout', source: 'probe', at: now });
    expect(view.claimActiveWrite('openai')).toBe(true);
  });
});
