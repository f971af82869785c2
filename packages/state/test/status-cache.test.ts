import type { DeploymentId } from '@switchyard/shared';
import { testRedisUrl, watchRedisCommands } from '@switchyard/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProbeFn, ProbeOutcome } from '../src/index.ts';
import { failure, setup, type TestContext } from './helpers.ts';

let t: TestContext;
afterEach(async () => {
  await t?.cleanup();
});

/** A prober that counts its calls and answers after `delayMs`. */
function countingProber(delayMs = 30, outcome: ProbeOutcome = { state: 'active', latencyMs: 5 }) {
  const calls: DeploymentId[] = [];
  const prober: ProbeFn = async (provider) => {
    calls.push(provider);
    await new Promise((r) => setTimeout(r, delayMs));
    return outcome;
  };
  return { calls, prober };
}

async function writeRecord(ctx: TestContext, provider: DeploymentId, ageMs: number, state = 'active') {
  const checked = Date.now() - ageMs;
  await ctx.redis.hset(
    ctx.store.keys.provider(provider).state,
    'state',
    state,
    'checked_at',
    checked,
    'source',
    'probe',
    'probed_at',
    checked,
  );
  return checked;
}

describe('status cache', () => {
  it('fresh: served from Redis with cache_hit and no probe', async () => {
    const p = countingProber();
    t = await setup('sc1', { STATUS_FRESH_MS: 10_000, STATUS_STALE_MS: 60_000 }, { prober: p.prober });
    const checked = await writeRecord(t, 'openai', 100);
    await writeRecord(t, 'mock', 100);
    const statuses = await t.store.getStatus();
    expect(statuses.map((s) => s.provider)).toEqual(['openai', 'mock']);
    expect(statuses[0]).toEqual({
      deployment: 'openai',
      provider: 'openai',
      state: 'active',
      circuit: { state: 'closed', consecutive_failures: 0, opened_at: null, next_probe_at: null },
      last_error: null,
      checked_at: checked,
      cache_hit: true,
      cooldown_until: null,
    });
    await t.store.close();
    expect(p.calls).toEqual([]);
  });

  it('a cache-hit answer is shared in-process for statusMemoMs: 500 readers, a handful of Redis reads, news within the memo time', async () => {
    t = await setup('sc-memo', { STATUS_FRESH_MS: 10_000, STATUS_STALE_MS: 60_000 }, { statusMemoMs: 200 });
    await writeRecord(t, 'openai', 100);
    const stateKey = t.store.keys.provider('openai').state;
    const watch = await watchRedisCommands(testRedisUrl(), (c) => c.name === 'hgetall' && c.args[0] === stateKey);
    const answers = await Promise.all(Array.from({ length: 500 }, () => t.store.getStatus()));
    expect(new Set(answers.map((a) => a[0]!.state))).toEqual(new Set(['active']));
    await watch.settle();
    const stateReads = watch.commands.length;
    expect(stateReads).toBeGreaterThanOrEqual(1);
    expect(stateReads).toBeLessThanOrEqual(2);
    // A worker reports a problem: every reader sees it once the memo time has passed.
    await t.makeStore().report(failure('openai', 'api_key_invalid', { message: 'bad key' }));
    await new Promise((r) => setTimeout(r, 210));
    expect((await t.store.getStatus())[0]).toMatchObject({ state: 'api_key_invalid', cache_hit: true });
    watch.stop();
  });

  it('stale: served at once, then exactly one background refresh', async () => {
    const p = countingProber(50, {
      state: 'credits_exhausted',
      latencyMs: 7,
      error: { class: 'credits_exhausted', message: 'no credits' },
      credits: { remaining: 0, limit: 10, usage: 10 },
    });
    t = await setup('sc2', { STATUS_FRESH_MS: 1_000, STATUS_STALE_MS: 60_000, providers: [{ name: 'openrouter' }] }, { prober: p.prober });
    await writeRecord(t, 'openrouter', 5_000);
    const first = await Promise.all(Array.from({ length: 50 }, () => t.store.getStatus()));
    for (const [s] of first) expect(s).toMatchObject({ state: 'active', cache_hit: true });
    await t.store.close();
    expect(p.calls).toEqual(['openrouter']);
    const [after] = await t.store.getStatus();
    expect(after).toMatchObject({
      state: 'credits_exhausted',
      cache_hit: true,
      last_error: { class: 'credits_exhausted', message: 'no credits' },
      credits: { remaining: 0, limit: 10, usage: 10 },
    });
  });

  it('expired or missing: refreshed now, single-flight, cache_hit false', async () => {
    const p = countingProber(50);
    // Fresh for far longer than this test takes on any machine, so "no further probe" cannot turn
    // into a stale read's background refresh.
    t = await setup('sc3', { STATUS_FRESH_MS: 30_000, STATUS_STALE_MS: 60_000, providers: [{ name: 'openai' }] }, { prober: p.prober });
    const other = t.makeStore({}, { prober: p.prober });
    const results = await Promise.all([
      ...Array.from({ length: 30 }, () => t.store.getStatus()),
      ...Array.from({ length: 30 }, () => other.getStatus()),
    ]);
    expect(p.calls).toHaveLength(1);
    for (const [s] of results) expect(s).toMatchObject({ state: 'active', cache_hit: false });
    // Now fresh: no further probe.
    const [again] = await other.getStatus();
    expect(again!.cache_hit).toBe(true);
    expect(p.calls).toHaveLength(1);
  });

  it('force_refresh probes even a fresh cache, once for concurrent callers', async () => {
    const p = countingProber(50);
    t = await setup('sc4', { providers: [{ name: 'openai' }] }, { prober: p.prober });
    await writeRecord(t, 'openai', 10);
    const results = await Promise.all(Array.from({ length: 20 }, () => t.store.getStatus({ forceRefresh: true })));
    expect(p.calls).toHaveLength(1);
    for (const [s] of results) expect(s!.cache_hit).toBe(false);
    await t.store.getStatus({ forceRefresh: true });
    expect(p.calls).toHaveLength(2);
  });

  it('an open circuit is respected: no probe, cached state returned', async () => {
    const p = countingProber();
    t = await setup(
      'sc5',
      { CIRCUIT_FAILURE_THRESHOLD: 1, CIRCUIT_RESET_MS: 60_000, providers: [{ name: 'openai' }] },
      { prober: p.prober },
    );
    await t.store.report(failure('openai', 'network_error', { message: 'ECONNREFUSED' }));
    const [s] = await t.store.getStatus({ forceRefresh: true });
    expect(p.calls).toEqual([]);
    expect(s).toMatchObject({
      state: 'network_error',
      cache_hit: true,
      circuit: { state: 'open', consecutive_failures: 1 },
      last_error: { class: 'network_error', message: 'ECONNREFUSED' },
    });
    expect(s!.circuit.next_probe_at! - s!.circuit.opened_at!).toBe(60_000);
  });

  it('worker reports keep it fresh: no probe needed', async () => {
    const p = countingProber();
    t = await setup('sc6', { providers: [{ name: 'openai' }] }, { prober: p.prober });
    await t.store.report(failure('openai', 'success'));
    const [s] = await t.store.getStatus();
    expect(s).toMatchObject({ state: 'active', cache_hit: true });
    expect(p.calls).toEqual([]);
  });

  it('a probe that ignores its deadline is cut off and recorded as a timeout', async () => {
    const hang: ProbeFn = () => new Promise(() => {});
    t = await setup('sc7', { PROBE_TIMEOUT_MS: 100, providers: [{ name: 'openai' }] }, { prober: hang });
    const started = Date.now();
    const [s] = await t.store.getStatus();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(s).toMatchObject({ state: 'timeout', cache_hit: false, last_error: { class: 'timeout' } });
  });

  it('a reader waiting on another holder serves the cache when the holder never answers', async () => {
    const p = countingProber();
    t = await setup(
      'sc8',
      { STATUS_FRESH_MS: 100, STATUS_STALE_MS: 100, providers: [{ name: 'openai' }] },
      { prober: p.prober, refreshWaitMs: 150 },
    );
    await writeRecord(t, 'openai', 10_000, 'timeout');
    // Someone else holds the lock and is silent.
    await t.redis.set(t.store.keys.provider('openai').refreshLock, 'someone', 'PX', 5_000);
    const [s] = await t.store.getStatus();
    expect(s).toMatchObject({ state: 'timeout', cache_hit: true });
    expect(p.calls).toEqual([]);
  });

  it('without a prober it is cache-only', async () => {
    t = await setup('sc9', { providers: [{ name: 'ollama' }] });
    const [s] = await t.store.getStatus({ forceRefresh: true });
    expect(s).toMatchObject({ provider: 'ollama', state: 'unknown', checked_at: null, cache_hit: true });
  });
});
