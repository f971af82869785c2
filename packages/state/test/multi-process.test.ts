/**
 * The fleet, for real: separate processes on one Redis and one namespace, released together by a
 * Redis barrier, racing on the same provider state.
 */

import type { CallOutcome, ProviderName } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStateStore, type StateEvent, type StateStore, utcDate } from '../src/index.ts';
import { testKey } from './fixtures/commands.ts';
import { failure, silentLogger, stateConfig } from './helpers.ts';
import { FleetPool } from './processes.ts';

let pool: FleetPool;
let poolRedis: Redis;
let namespace: string;
let redis: Redis;
let store: StateStore | undefined;

beforeAll(async () => {
  poolRedis = new Redis(testRedisUrl());
  pool = await FleetPool.start(poolRedis, 8);
});

afterAll(async () => {
  await pool?.stop();
  poolRedis.disconnect();
});

beforeEach(() => {
  namespace = testNamespace('mp');
  redis = new Redis(testRedisUrl());
});

afterEach(async () => {
  await store?.close();
  store = undefined;
  redis.disconnect();
  await deleteNamespace(testRedisUrl(), namespace);
});

describe('8 processes reporting at the same moment', () => {
  it('open the circuit at exactly the threshold, lose no count, and aborted leaves the breaker untouched', async () => {
    const config = stateConfig(namespace, {
      CIRCUIT_FAILURE_THRESHOLD: 40,
      CIRCUIT_RESET_MS: 60_000,
      providers: [{ name: 'openai' }, { name: 'anthropic' }, { name: 'mock' }],
    });
    store = createStateStore(redis, config, silentLogger);
    // mock already has 3 counted failures: aborted reports must leave its record byte for byte.
    for (let i = 0; i < 3; i++) await store.report(failure('mock', 'timeout'));
    const mockCircuitBefore = await redis.hgetall(store.keys.provider('mock').circuit);

    const events: StateEvent[] = [];
    const sub = store.subscribe((e) => events.push(e));
    await sub.ready;

    // Each process: openai 5 counted failures (8 x 5 = 40 = threshold), anthropic 4 (8 x 4 = 32),
    // mock 25 aborted plus other classes that never count.
    const plan: Array<[ProviderName, CallOutcome['outcome'], number]> = [
      ['openai', 'service_unavailable', 5],
      ['anthropic', 'timeout', 4],
      ['mock', 'aborted', 25],
      ['mock', 'bad_request', 2],
      ['mock', 'model_not_found', 2],
    ];
    const run = await pool.dispatch(8, () => ({ kind: 'report', config, plan }));
    await pool.release(namespace, 8);
    const results = await run.results();
    expect(results.map((r) => r.reported)).toEqual(Array(8).fill(38));

    const openai = await store.breaker.read('openai');
    expect(openai).toMatchObject({ state: 'open', consecutive_failures: 40, trips: 1 });
    const anthropic = await store.breaker.read('anthropic');
    expect(anthropic).toMatchObject({ state: 'closed', consecutive_failures: 32, trips: 0 });
    expect(await redis.hgetall(store.keys.provider('mock').circuit)).toEqual(mockCircuitBefore);

    // Exactly one open transition was published, at exactly the threshold.
    await waitFor(() => events.some((e) => e.type === 'circuit' && e.to === 'open'), 'the open event', 15_000);
    await sub.close();
    const transitions = events.filter((e) => e.type === 'circuit' && e.from !== e.to);
    expect(transitions).toHaveLength(1);
    // And each streak's first counted failure was announced exactly once, racing processes or not.
    const streaks = events.filter((e) => e.type === 'circuit' && e.reason === 'failure_counted').map((e) => e.provider);
    expect(streaks.sort()).toEqual(['anthropic', 'openai']);
    expect(transitions[0]).toMatchObject({
      provider: 'openai',
      from: 'closed',
      to: 'open',
      reason: 'consecutive_failures',
      consecutive_failures: 40,
    });

    // No count lost in the metrics either.
    await store.flush(); // this process's own 3 reports, added up in the process until now
    // Today's and yesterday's day hashes together (the namespace is this file's own): the run may
    // straddle midnight UTC, and a day hash holds what was reported on that day.
    const days = (await store.readDailyMetrics(2)).totals;
    expect(days.find((p) => p.provider === 'openai')).toMatchObject({ total: 40, failures: { service_unavailable: 40 } });
    expect(days.find((p) => p.provider === 'mock')).toMatchObject({ total: 3 + 8 * 29, failures: { aborted: 200, timeout: 3 } });
  });
});

describe('8 processes racing for the half-open probe', () => {
  it('exactly one wins; when it dies without reporting, exactly one other gets the next probe', async () => {
    // The lease must outlast the race itself (all first admissions), even on a loaded machine;
    // the test then waits for it to run out after the kill.
    const config = stateConfig(namespace, { CIRCUIT_FAILURE_THRESHOLD: 1, CIRCUIT_RESET_MS: 100, CIRCUIT_PROBE_LEASE_MS: 2_000 });
    store = createStateStore(redis, config, silentLogger);
    await store.report(failure('openai', 'network_error'));
    const opened = await store.breaker.read('openai');
    expect(opened.state).toBe('open');

    const run = await pool.dispatch(8, () => ({ kind: 'probe-race', config, provider: 'openai' }));
    // Released only once the probe is due, so the first admissions are the race.
    await waitFor(() => Date.now() >= opened.next_probe_at!, 'the reset time', 5_000, 5);
    await pool.release(namespace, 8);

    type Win = { round: number; pid: number; lease: string };
    const winners = testKey(namespace, 'winners');
    const wins = async () => (await redis.lrange(winners, 0, -1)).map((r) => JSON.parse(r) as Win);
    const first = await waitFor(async () => (await wins()).find((w) => w.round === 1), 'the first probe winner', 10_000, 10);
    const holder = run.members.find((m) => m.pid === first.pid)!;
    expect(holder).toBeDefined();
    holder.child.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');

    const results = (await run.results([holder])) as Array<{ pid: number; probe: boolean; first: unknown }>;
    // Every other member lost the first race.
    for (const r of results) expect(r.first).toMatchObject({ admitted: false, reason: 'circuit_open' });
    const records = await wins();
    expect(records.filter((r) => r.round === 1)).toHaveLength(1);
    const second = records.filter((r) => r.round === 2);
    expect(second).toHaveLength(1);
    expect(second[0]!.pid).not.toBe(first.pid);
    expect(second[0]!.lease).not.toBe(first.lease);
    expect(results.filter((r) => r.probe).map((r) => r.pid)).toEqual([second[0]!.pid]);

    const circuit = await store.breaker.read('openai');
    expect(circuit).toMatchObject({ state: 'closed', consecutive_failures: 0, probes_granted: 2 });
  });
});

describe('4 API-like processes x 250 concurrent status reads', () => {
  it('make exactly one upstream probe per provider, for a stale and for an expired cache', async () => {
    const config = stateConfig(namespace, {
      STATUS_FRESH_MS: 10_000,
      STATUS_STALE_MS: 60_000,
      // Also how long the other readers wait for the one refresh: generous, for a loaded machine.
      PROBE_TIMEOUT_MS: 10_000,
      providers: [{ name: 'openai' }, { name: 'anthropic' }],
    });
    store = createStateStore(redis, config, silentLogger);
    // openai: stale (served at once, refreshed in the background); anthropic: expired (refreshed now).
    const staleAt = Date.now() - 20_000;
    await redis.hset(
      store.keys.provider('openai').state,
      'state',
      'timeout',
      'checked_at',
      staleAt,
      'source',
      'probe',
      'probed_at',
      staleAt,
    );
    const expiredAt = Date.now() - 120_000;
    await redis.hset(store.keys.provider('anthropic').state, 'state', 'timeout', 'checked_at', expiredAt, 'source', 'probe');

    // The one probe takes 2 s: every process reads while it is in flight, even one the machine held
    // back for a second after the release (with 200 ms, a late process found the refresh done and
    // served it fresh, which is right but not what this test counts).
    const run = await pool.dispatch(4, () => ({ kind: 'status', config, reads: 250, probeDelayMs: 2_000 }));
    await pool.release(namespace, 4);
    const results = (await run.results()) as unknown as Array<{
      reads: number;
      served: Record<string, { cacheHits: number; states: Record<string, number> }>;
    }>;

    expect(await redis.get(testKey(namespace, 'probes:openai'))).toBe('1');
    expect(await redis.get(testKey(namespace, 'probes:anthropic'))).toBe('1');
    for (const r of results) {
      expect(r.reads).toBe(250);
      // Stale: every read answered at once from the cache.
      expect(r.served.openai).toEqual({ cacheHits: 250, states: { timeout: 250 } });
      // Expired: every read waited for the one refresh and got its result.
      expect(r.served.anthropic).toEqual({ cacheHits: 0, states: { active: 250 } });
    }
    const [openai] = await store.getStatus();
    expect(openai).toMatchObject({ state: 'active', cache_hit: true });
  });
});

describe('metrics under concurrency', () => {
  it('totals equal what 4 processes reported, and every key carries its expiry', async () => {
    const config = stateConfig(namespace, { CIRCUIT_FAILURE_THRESHOLD: 10_000, providers: [{ name: 'gemini' }, { name: 'ollama' }] });
    store = createStateStore(redis, config, silentLogger);
    const startedOn = utcDate(Date.now());
    const run = await pool.dispatch(4, () => ({ kind: 'metrics', config, count: 600 }));
    await pool.release(namespace, 4);
    const results = (await run.results()) as unknown as Array<{ expected: Record<string, Record<string, number>> }>;
    const expected: Record<string, Record<string, number>> = {};
    for (const r of results) {
      for (const [provider, fields] of Object.entries(r.expected)) {
        const e = expected[provider] ?? {};
        expected[provider] = e;
        for (const [field, n] of Object.entries(fields)) {
          // Counters add up; the observed extremes merge.
          if (field === 'lat_min') e[field] = Math.min(e[field] ?? n, n);
          else if (field === 'lat_max') e[field] = Math.max(e[field] ?? n, n);
          else e[field] = (e[field] ?? 0) + n;
        }
      }
    }
    // The run may straddle midnight UTC: the day hashes of the days it spanned hold every call.
    const dates = [...new Set([startedOn, utcDate(Date.now())])];
    for (const provider of ['gemini', 'ollama'] as const) {
      const k = store.keys.provider(provider);
      const want = expected[provider]!;
      const lifetime = await redis.hgetall(k.metricsTotal);
      for (const [field, n] of Object.entries(want)) expect(Number(lifetime[field]), `${provider} ${field}`).toBe(n);
      const buckets = Object.entries(lifetime).filter(([f]) => f.startsWith('lat_log:'));
      expect(buckets.reduce((a, [, v]) => a + Number(v), 0)).toBe(want.lat_count);

      const days: Record<string, number> = {};
      for (const date of dates) {
        const day = await redis.hgetall(k.metricsDay(date));
        if (Object.keys(day).length === 0) continue;
        for (const [field, v] of Object.entries(day)) {
          const n = Number(v);
          if (field === 'lat_min') days[field] = Math.min(days[field] ?? n, n);
          else if (field === 'lat_max') days[field] = Math.max(days[field] ?? n, n);
          else days[field] = (days[field] ?? 0) + n;
        }
        // Kept 30 full days past its own day.
        const expiresAt = Number(await redis.pexpiretime(k.metricsDay(date)));
        const dayStart = Date.parse(`${date}T00:00:00Z`);
        expect(expiresAt).toBeGreaterThan(dayStart + 30 * 86_400_000);
        expect(expiresAt).toBeLessThanOrEqual(dayStart + 31 * 86_400_000);
      }
      for (const [field, n] of Object.entries(want)) expect(days[field], `${provider} day ${field}`).toBe(n);

      const minuteKeys = await redis.keys(`${namespace}:{p:${provider}}:m:min:*`);
      expect(minuteKeys.length).toBeGreaterThan(0);
      let minuteTotal = 0;
      for (const key of minuteKeys) {
        const ttl = await redis.pttl(key);
        expect(ttl).toBeGreaterThan(5 * 3_600_000);
        expect(ttl).toBeLessThanOrEqual(6 * 3_600_000 + 60_000);
        minuteTotal += Number(await redis.hget(key, 'total'));
      }
      expect(minuteTotal).toBe(want.total);
    }
    const totals = (await store.readDailyMetrics(2)).totals;
    expect(totals.find((p) => p.provider === 'gemini')!.total).toBe(expected.gemini!.total);
    expect(totals.reduce((a, p) => a + p.total, 0)).toBe(2_400);
    const counters = await store.readCounters();
    expect(counters.providers.reduce((a, p) => a + p.calls_total, 0)).toBe(2_400);
  });
});
