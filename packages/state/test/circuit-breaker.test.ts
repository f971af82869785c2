import { CLASS_POLICY, ERROR_CLASSES } from '@switchyard/shared';
import { waitFor } from '@switchyard/shared/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateEvent } from '../src/index.ts';
import { failure, setup, type TestContext } from './helpers.ts';

let t: TestContext;
afterEach(async () => {
  await t?.cleanup();
});

describe('circuit breaker: closed -> open', () => {
  beforeEach(async () => {
    t = await setup('cb', { CIRCUIT_FAILURE_THRESHOLD: 3, CIRCUIT_RESET_MS: 60_000 });
  });

  it('opens at exactly the threshold and stops admitting', async () => {
    const { store } = t;
    await store.report(failure('openai', 'timeout'));
    await store.report(failure('openai', 'service_unavailable'));
    expect(await store.breaker.read('openai')).toMatchObject({ state: 'closed', consecutive_failures: 2 });
    expect(await store.admit('openai')).toEqual({ admitted: true });
    await store.report(failure('openai', 'network_error'));
    const circuit = await store.breaker.read('openai');
    expect(circuit).toMatchObject({ state: 'open', consecutive_failures: 3, trips: 1 });
    expect(circuit.next_probe_at! - circuit.opened_at!).toBe(60_000);
    const admission = await store.admit('openai');
    expect(admission).toEqual({ admitted: false, reason: 'circuit_open', retryAtMs: circuit.next_probe_at });
    // Other providers are untouched.
    expect(await store.admit('mock')).toEqual({ admitted: true });
  });

  it('a success resets consecutive failures', async () => {
    const { store } = t;
    await store.report(failure('openai', 'timeout'));
    await store.report(failure('openai', 'timeout'));
    await store.report(failure('openai', 'success'));
    expect(await store.breaker.read('openai')).toMatchObject({ state: 'closed', consecutive_failures: 0 });
    await store.report(failure('openai', 'timeout'));
    await store.report(failure('openai', 'timeout'));
    expect(await store.breaker.read('openai')).toMatchObject({ state: 'closed', consecutive_failures: 2 });
  });

  it('aborted and every class that does not count leave the breaker untouched', async () => {
    const { store, redis } = t;
    await store.report(failure('openai', 'timeout'));
    const before = await redis.hgetall(store.keys.provider('openai').circuit);
    const notCounting = ERROR_CLASSES.filter((c) => !CLASS_POLICY[c].countsTowardBreaker);
    expect(notCounting).toContain('aborted');
    for (let i = 0; i < 10; i++) for (const cls of notCounting) await store.report(failure('openai', cls, { retryAfterMs: 50 }));
    expect(await redis.hgetall(store.keys.provider('openai').circuit)).toEqual(before);
    expect(await store.breaker.read('openai')).toMatchObject({ state: 'closed', consecutive_failures: 1 });
  });
});

describe('circuit breaker: half-open probe lease', () => {
  // A 2 s lease: the admissions that must find it held take a few round trips, well inside it
  // however long this machine stalls; the one test that waits for it to expire waits 2 s.
  beforeEach(async () => {
    t = await setup('cbh', { CIRCUIT_FAILURE_THRESHOLD: 2, CIRCUIT_RESET_MS: 150, CIRCUIT_PROBE_LEASE_MS: 2_000 });
  });

  const trip = async () => {
    await t.store.report(failure('openai', 'timeout'));
    await t.store.report(failure('openai', 'timeout'));
    const circuit = await t.store.breaker.read('openai');
    expect(circuit.state).toBe('open');
    return circuit;
  };

  it('grants one lease after the reset time; probe success closes', async () => {
    const other = t.makeStore();
    const circuit = await trip();
    await waitFor(() => Date.now() >= circuit.next_probe_at!, 'reset time', 2_000, 5);
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => t.store.admit('openai')),
      ...Array.from({ length: 10 }, () => other.admit('openai')),
    ]);
    const probes = results.filter((a) => a.admitted);
    expect(probes).toHaveLength(1);
    const probe = probes[0] as { admitted: true; probeLeaseId: string };
    expect(probe.probeLeaseId).toMatch(/[0-9a-f-]{36}/);
    for (const r of results.filter((a) => !a.admitted)) expect(r).toMatchObject({ reason: 'circuit_open' });
    expect((await t.store.breaker.read('openai')).state).toBe('half_open');

    // A late success without the lease does not close the circuit; the probe's does.
    await t.store.report(failure('openai', 'success'));
    expect((await t.store.breaker.read('openai')).state).toBe('half_open');
    await other.report(failure('openai', 'success', { probeLeaseId: probe.probeLeaseId }));
    expect(await t.store.breaker.read('openai')).toMatchObject({ state: 'closed', consecutive_failures: 0, opened_at: null });
    expect(await t.store.admit('openai')).toEqual({ admitted: true });
  });

  it('probe failure re-opens with a growing, capped reset time', async () => {
    const ctx = t;
    await ctx.cleanup();
    t = await setup('cbg', { CIRCUIT_FAILURE_THRESHOLD: 1, CIRCUIT_RESET_MS: 100, CIRCUIT_PROBE_LEASE_MS: 500 }, { maxResetMs: 350 });
    await t.store.report(failure('openai', 'timeout'));
    const resets: number[] = [];
    for (let round = 0; round < 3; round++) {
      const circuit = await t.store.breaker.read('openai');
      expect(circuit.state).toBe('open');
      resets.push(circuit.next_probe_at! - circuit.opened_at!);
      const admission = await waitFor(
        async () => {
          const a = await t.store.admit('openai');
          return a.admitted ? a : null;
        },
        'probe lease',
        3_000,
        10,
      );
      expect(admission.probeLeaseId).toBeTruthy();
      await t.store.report(failure('openai', 'service_unavailable', { probeLeaseId: admission.probeLeaseId }));
    }
    const last = await t.store.breaker.read('openai');
    resets.push(last.next_probe_at! - last.opened_at!);
    expect(resets).toEqual([100, 200, 350, 350]);
    expect(last).toMatchObject({ state: 'open', trips: 4, consecutive_failures: 4 });
  });

  it('an aborted probe hands its lease back at once: the next caller probes without waiting out the lease', async () => {
    const other = t.makeStore();
    const circuit = await trip();
    await waitFor(() => Date.now() >= circuit.next_probe_at!, 'reset time', 2_000, 5);
    const first = await t.store.admit('openai');
    const firstLease = (first as { probeLeaseId: string }).probeLeaseId;
    expect(firstLease).toBeTruthy();
    expect(await other.admit('openai')).toMatchObject({ admitted: false, reason: 'circuit_open' });
    // A report without the lease, or with a stale one, releases nothing.
    await t.store.report(failure('openai', 'aborted', { probeLeaseId: 'not-the-lease' }));
    expect(await other.admit('openai')).toMatchObject({ admitted: false, reason: 'circuit_open' });

    await t.store.report(failure('openai', 'aborted', { probeLeaseId: firstLease }));
    const after = await t.store.breaker.read('openai');
    // Still half-open, nothing counted: an abort is no verdict on the provider.
    expect(after).toMatchObject({ state: 'half_open', consecutive_failures: circuit.consecutive_failures, lease_until: 0 });
    const racers = await Promise.all(Array.from({ length: 10 }, () => other.admit('openai')));
    const winners = racers.filter((a) => a.admitted) as Array<{ probeLeaseId: string }>;
    expect(winners).toHaveLength(1);
    expect(winners[0]?.probeLeaseId).not.toBe(firstLease);
    // The released lease decides nothing any more; the new one does.
    await t.store.report(failure('openai', 'success', { probeLeaseId: firstLease }));
    expect((await t.store.breaker.read('openai')).state).toBe('half_open');
    await other.report(failure('openai', 'success', { probeLeaseId: winners[0]?.probeLeaseId }));
    expect((await t.store.breaker.read('openai')).state).toBe('closed');
  });

  it('an unreported lease expires and exactly one other caller gets the next probe', async () => {
    const circuit = await trip();
    await waitFor(() => Date.now() >= circuit.next_probe_at!, 'reset time', 2_000, 5);
    const first = await t.store.admit('openai');
    expect(first.admitted && first.probeLeaseId).toBeTruthy();
    const blocked = await t.store.admit('openai');
    expect(blocked).toMatchObject({ admitted: false, reason: 'circuit_open' });
    const leaseUntil = (blocked as { retryAtMs: number }).retryAtMs;
    await waitFor(() => Date.now() >= leaseUntil, 'lease expiry', 10_000, 5);
    const racers = await Promise.all(Array.from({ length: 10 }, () => t.store.admit('openai')));
    const winners = racers.filter((a) => a.admitted);
    expect(winners).toHaveLength(1);
    const second = winners[0] as { probeLeaseId: string };
    expect(second.probeLeaseId).not.toBe((first as { probeLeaseId: string }).probeLeaseId);
    // The dead holder's lease no longer decides anything.
    await t.store.report(failure('openai', 'success', { probeLeaseId: (first as { probeLeaseId: string }).probeLeaseId }));
    expect((await t.store.breaker.read('openai')).state).toBe('half_open');
    await t.store.report(failure('openai', 'success', { probeLeaseId: second.probeLeaseId }));
    expect((await t.store.breaker.read('openai')).state).toBe('closed');
    expect((await t.store.breaker.read('openai')).probes_granted).toBe(2);
  });

  it('publishes an event for every transition', async () => {
    const events: StateEvent[] = [];
    const sub = t.store.subscribe((e) => events.push(e));
    await sub.ready;
    const circuit = await trip();
    await waitFor(() => Date.now() >= circuit.next_probe_at!, 'reset time', 2_000, 5);
    const probe = await t.store.admit('openai');
    await t.store.report(failure('openai', 'success', { probeLeaseId: (probe as { probeLeaseId: string }).probeLeaseId }));
    await waitFor(() => events.filter((e) => e.type === 'circuit').length >= 4, 'four circuit events', 10_000);
    await sub.close();
    const circuitEvents = events.filter((e) => e.type === 'circuit');
    expect(circuitEvents.map((e) => [e.from, e.to, e.reason])).toEqual([
      ['closed', 'closed', 'failure_counted'], // the first of a streak, so workers stop skipping success writes
      ['closed', 'open', 'consecutive_failures'],
      ['open', 'half_open', 'reset_elapsed'],
      ['half_open', 'closed', 'probe_succeeded'],
    ]);
    expect(circuitEvents[0]).toMatchObject({ provider: 'openai', consecutive_failures: 1, error_class: 'timeout' });
    expect(circuitEvents[1]).toMatchObject({ provider: 'openai', consecutive_failures: 2, error_class: 'timeout' });
    const stateEvents = events.filter((e) => e.type === 'provider_state');
    expect(stateEvents.map((e) => [e.from, e.to])).toEqual([
      ['unknown', 'timeout'],
      ['timeout', 'active'],
    ]);
  });
});

describe('circuit breaker: failure-rate window', () => {
  it('opens when the failure share over the window reaches the rate, after min calls', async () => {
    t = await setup('cbw', { CIRCUIT_FAILURE_THRESHOLD: 100, CIRCUIT_FAILURE_RATE: 0.3, CIRCUIT_WINDOW_MS: 10_000, CIRCUIT_MIN_CALLS: 10 });
    const { store } = t;
    // 30% failures, never two in a row: the consecutive count never gets anywhere.
    const pattern = ['success', 'success', 'timeout'] as const;
    for (let i = 0; i < 9; i++) await store.report(failure('openai', pattern[i % 3]!));
    expect((await store.breaker.read('openai')).state).toBe('closed'); // 9 calls < min 10
    await store.report(failure('openai', 'success')); // 10 calls, 3 failures = 30%
    const circuit = await store.breaker.read('openai');
    expect(circuit).toMatchObject({ state: 'open', trips: 1 });
  });

  it('is off when the rate is 0, and ignores classes that do not count', async () => {
    t = await setup('cbw0', { CIRCUIT_FAILURE_THRESHOLD: 100, CIRCUIT_FAILURE_RATE: 0 });
    for (let i = 0; i < 30; i++) await t.store.report(failure('openai', i % 2 ? 'success' : 'timeout'));
    expect((await t.store.breaker.read('openai')).state).toBe('closed');
    expect(await t.redis.exists(t.store.keys.provider('openai').window)).toBe(0);
  });

  it('does not count aborted calls into the window', async () => {
    t = await setup('cbwa', { CIRCUIT_FAILURE_THRESHOLD: 100, CIRCUIT_FAILURE_RATE: 0.5, CIRCUIT_MIN_CALLS: 4 });
    for (let i = 0; i < 20; i++) await t.store.report(failure('openai', 'aborted'));
    await t.store.report(failure('openai', 'success'));
    await t.store.report(failure('openai', 'success'));
    await t.store.report(failure('openai', 'timeout'));
    expect((await t.store.breaker.read('openai')).state).toBe('closed');
  });
});

describe('circuit breaker: stored records', () => {
  it('a corrupt circuit record is treated as closed, never thrown', async () => {
    t = await setup('cbc');
    const key = t.store.keys.provider('openai').circuit;
    await t.redis.hset(key, 'state', 'exploded', 'consecutive_failures', 'many');
    expect((await t.store.breaker.read('openai')).state).toBe('closed');
    expect(await t.store.admit('openai')).toEqual({ admitted: true });
    await t.store.breaker.reset('openai', Date.now());
    expect(await t.store.breaker.read('openai')).toMatchObject({ state: 'closed', consecutive_failures: 0 });
  });
});
