import { clearOfDayBoundary, freePort, testRedisUrl, waitFor, watchRedisCommands } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { bucketFieldOf, createStateStore, utcDate } from '../src/index.ts';
import { failure, setup, silentLogger, stateConfig, type TestContext } from './helpers.ts';

let t: TestContext;
afterEach(async () => {
  await t?.cleanup();
});

describe('429 cooldowns', () => {
  it('are shared fleet-wide until retry-after, extended but never shortened', async () => {
    t = await setup('cd');
    const other = t.makeStore();
    const before = Date.now();
    // 2 s: the checks below take a few round trips, well inside it however slow the machine.
    await t.store.report(failure('openai', 'rate_limited', { retryAfterMs: 2_000 }));
    const admission = await other.admit('openai');
    expect(admission).toMatchObject({ admitted: false, reason: 'cooldown' });
    const retryAt = (admission as { retryAtMs: number }).retryAtMs;
    expect(retryAt).toBeGreaterThanOrEqual(before + 2_000);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 2_000);

    await other.report(failure('openai', 'rate_limited', { retryAfterMs: 10 })); // shorter: ignored
    expect(await t.store.admit('openai')).toMatchObject({ retryAtMs: retryAt });
    const ttl = await t.redis.pttl(t.store.keys.provider('openai').cooldown);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2_000);

    // The breaker is not involved: a 429 is not a counted failure.
    expect(await t.store.breaker.read('openai')).toMatchObject({ state: 'closed', consecutive_failures: 0 });
    expect(await t.store.admit('mock')).toEqual({ admitted: true });
    // Ends on its own at retry-after.
    await new Promise((r) => setTimeout(r, Math.max(0, retryAt - Date.now()) + 5));
    expect(await t.store.admit('openai')).toEqual({ admitted: true });
  });

  it('uses the default when no retry-after came, and caps absurd ones', async () => {
    t = await setup('cd2', {}, { defaultCooldownMs: 250, maxCooldownMs: 10_000 });
    await t.store.report(failure('openai', 'rate_limited'));
    const key = t.store.keys.provider('openai').cooldown;
    expect(await t.redis.pttl(key)).toBeLessThanOrEqual(250);
    await t.store.report(failure('openai', 'rate_limited', { retryAfterMs: 86_400_000 }));
    const ttl = await t.redis.pttl(key);
    expect(ttl).toBeGreaterThan(250);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });

  it('a probe that is due is not granted during a cooldown', async () => {
    t = await setup('cd3', { CIRCUIT_FAILURE_THRESHOLD: 1, CIRCUIT_RESET_MS: 100 });
    await t.store.report(failure('openai', 'timeout'));
    await t.store.report(failure('openai', 'rate_limited', { retryAfterMs: 5_000 }));
    await new Promise((r) => setTimeout(r, 120));
    expect(await t.store.admit('openai')).toMatchObject({ admitted: false, reason: 'cooldown' });
    expect((await t.store.breaker.read('openai')).state).toBe('open');
  });
});

describe('provider state records', () => {
  it('success -> active, a classified failure -> its state, with last_error; classes without a state change nothing', async () => {
    t = await setup('ps');
    const { store } = t;
    expect(await store.records.read('openai')).toBeNull();
    await store.report(failure('openai', 'success'));
    const active = await store.records.read('openai');
    expect(active).toMatchObject({ state: 'active', last_error: null, source: 'report' });
    await store.report(failure('openai', 'credits_exhausted', { message: 'Payment required' }));
    const broke = await store.records.read('openai');
    expect(broke).toMatchObject({ state: 'credits_exhausted', last_error: { class: 'credits_exhausted', message: 'Payment required' } });
    expect(broke!.last_error!.at).toBeGreaterThanOrEqual(active!.checked_at);
    await store.report(failure('openai', 'bad_request', { message: 'bad' }));
    await store.report(failure('openai', 'aborted'));
    expect((await store.records.read('openai'))!.state).toBe('credits_exhausted');
    await store.report(failure('openai', 'forbidden'));
    expect((await store.records.read('openai'))!.state).toBe('api_key_invalid');
    await store.report(failure('openai', 'success'));
    expect(await store.records.read('openai')).toMatchObject({ state: 'active', last_error: { class: 'forbidden' } });
  });

  it('stores messages scrubbed of secrets, on one line, cut short', async () => {
    t = await setup('ps2');
    const key = `sk-or-v1-${'ab'.repeat(32)}`;
    await t.store.report(
      failure('openai', 'api_key_invalid', { message: `Invalid key ${key}\nAuthorization: Bearer abcdef123456 ${'x'.repeat(1000)}` }),
    );
    const raw = JSON.stringify(await t.redis.hgetall(t.store.keys.provider('openai').state));
    expect(raw).not.toContain(key);
    expect(raw).not.toContain('abcdef123456');
    const record = await t.store.records.read('openai');
    expect(record!.last_error!.message.length).toBeLessThanOrEqual(300);
    expect(record!.last_error!.message).not.toContain('\n');
  });

  it('a corrupt record is logged and treated as missing', async () => {
    t = await setup('ps3');
    const warnings: unknown[] = [];
    const logger = { ...silentLogger, warn: (...args: unknown[]) => void warnings.push(args) } as unknown as typeof silentLogger;
    const store = createStateStore(t.redis, stateConfig(t.namespace), logger);
    await t.redis.hset(store.keys.provider('openai').state, 'state', 'on-fire', 'checked_at', 'yesterday');
    expect(await store.records.read('openai')).toBeNull();
    expect(warnings).toHaveLength(1);
    const [status] = await store.getStatus();
    expect(status).toMatchObject({ provider: 'openai', state: 'unknown', checked_at: null });
  });
});

describe('report() is fire-and-forget-safe', () => {
  it('never throws and stays bounded when Redis is unreachable', async () => {
    t = await setup('ff');
    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      retryStrategy: () => 200,
    });
    dead.on('error', () => {});
    const store = createStateStore(dead, stateConfig(t.namespace), silentLogger, { reportTimeoutMs: 150, maxPendingReports: 50 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 200 }, () => store.report(failure('openai', 'timeout'))));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(store.fleet.pendingReports).toBeLessThanOrEqual(50);
    // admit() fails open within its deadline.
    expect(await store.admit('openai')).toEqual({ admitted: true });
    // Malformed input is dropped, not thrown.
    await expect(store.report({ provider: 'nope', model: 'x', outcome: 'wat', latencyMs: 1 } as never)).resolves.toBeUndefined();
    dead.disconnect();
  });

  it('one report is one round trip touching breaker, state and cooldown; metrics follow within the flush interval', async () => {
    t = await setup('ff2');
    await t.store.report(failure('openai', 'rate_limited', { retryAfterMs: 1_000, message: 'slow down' }));
    const k = t.store.keys.provider('openai');
    expect(await t.redis.exists(k.cooldown, k.state)).toBe(2);
    // Added up in the process (250 ms by default), then written without being asked.
    expect(await t.redis.exists(k.metricsTotal)).toBe(0);
    await waitFor(async () => (await t.redis.hget(k.metricsTotal, 'fail:rate_limited')) === '1' || null, 'metrics flushed', 10_000, 20);
  });

  it('adds metrics up in the process: 500 reports become one pipeline per flush, with exact totals', async () => {
    t = await setup('ff3', {}, { metricsFlushMs: 60_000 });
    // The day hash read back is today's by the clock: the reports and the read in one day.
    await clearOfDayBoundary();
    // Metrics hashes only (the breaker's Lua also runs HINCRBY, on its circuit hash).
    const watch = await watchRedisCommands(
      testRedisUrl(),
      (c) => String(c.args[0] ?? '').includes(t.namespace) && String(c.args[0]).includes(':m:'),
    );
    const outcomes = Array.from({ length: 500 }, (_, i) => failure('openai', i % 5 === 0 ? 'timeout' : 'success', { latencyMs: i % 300 }));
    await Promise.all(outcomes.map((o) => t.store.report(o)));
    const k = t.store.keys.provider('openai');
    expect(await t.redis.exists(k.metricsTotal)).toBe(0);
    await t.store.flush();
    const total = await t.redis.hgetall(k.metricsTotal);
    expect(total).toMatchObject({ total: '500', success: '400', 'fail:timeout': '100', lat_count: '400' });
    const latSum = outcomes.filter((o) => o.outcome === 'success').reduce((n, o) => n + o.latencyMs, 0);
    expect(Number(total.lat_sum)).toBe(latSum);
    const day = await t.redis.hgetall(k.metricsDay(utcDate(Date.now())));
    expect(day.total).toBe('500');
    expect(await t.redis.ttl(k.metricsDay(utcDate(Date.now())))).toBeGreaterThan(30 * 86_400 - 86_400);
    await watch.settle();
    watch.stop();
    const commands = watch.commands.map((c) => c.name);
    // 3 hashes x (total, success, fail:timeout, lat_sum, lat_count, one per latency bucket hit), not one
    // per call and field; a fourth hash when the reports straddle a minute.
    const perHash = 5 + new Set(outcomes.filter((o) => o.outcome === 'success').map((o) => bucketFieldOf(o.latencyMs))).size;
    const hincrbys = commands.filter((c) => c === 'hincrby').length;
    expect(hincrbys).toBeGreaterThanOrEqual(3 * perHash);
    expect(hincrbys).toBeLessThanOrEqual(4 * perHash);
  });
});

describe('an unused probe lease handed back', () => {
  it('frees the lease for the next caller and counts no call in the metrics', async () => {
    t = await setup('ff-lease', { CIRCUIT_FAILURE_THRESHOLD: 1, CIRCUIT_RESET_MS: 200 }, { metricsFlushMs: 0 });
    await t.store.report(failure('openai', 'timeout'));
    const k = t.store.keys.provider('openai');
    const lease = await waitFor(
      async () => {
        const admission = await t.store.admit('openai');
        return admission.admitted && admission.probeLeaseId ? admission.probeLeaseId : null;
      },
      'the half-open probe lease',
      10_000,
      20,
    );
    const before = await t.redis.hgetall(k.metricsTotal);
    expect(before).toMatchObject({ total: '1' });
    await t.store.report({ provider: 'openai', model: 'm', outcome: 'aborted', latencyMs: 0, probeLeaseId: lease, leaseOnly: true });
    expect(await t.redis.hgetall(k.metricsTotal)).toEqual(before);
    // Handed back, not held until it expires: another process probes at once.
    expect(await t.makeStore().admit('openai')).toMatchObject({ admitted: true, probeLeaseId: expect.any(String) });
  });
});
