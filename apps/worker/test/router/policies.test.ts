/**
 * Unit tests of the router's small policies, each on its own: Budget, HedgeTokenBucket,
 * ConcurrencyGate, retry backoff, AdmissionControl, OutcomeReporter.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  AdmissionControl,
  Budget,
  BudgetAbort,
  ConcurrencyGate,
  HedgeTokenBucket,
  OutcomeReporter,
  retryDelayMs,
  systemClock,
} from '../../src/router/index.ts';
import { elapse, FakeFleet, now, silentLogger, untilSettled, useFakeTime } from './fakes.ts';

useFakeTime();

describe('Budget', () => {
  it('aborts its signal at the deadline, with reason budget, and not before', async () => {
    const budget = new Budget(120, systemClock);
    const ended = vi.fn();
    budget.onEnd(ended);
    expect(budget.signal.aborted).toBe(false);
    await elapse(119);
    expect(budget.signal.aborted).toBe(false);
    expect(budget.remainingMs()).toBe(1);
    await elapse(1);
    expect(budget.signal.aborted).toBe(true);
    expect(now() - budget.startedAt).toBe(120);
    expect(budget.endReason).toBeInstanceOf(BudgetAbort);
    expect(budget.endReason?.kind).toBe('budget');
    expect(ended).toHaveBeenCalledTimes(1);
    expect(budget.remainingMs()).toBe(0);
  });

  it('follows an external signal at once, as cancelled, carrying its reason', () => {
    const external = new AbortController();
    const budget = new Budget(10_000, systemClock, external.signal);
    external.abort('shutdown');
    expect(budget.signal.aborted).toBe(true);
    expect(budget.endReason?.kind).toBe('cancelled');
    expect(budget.endReason?.externalReason).toBe('shutdown');
    budget.dispose();
  });

  it('starts aborted when the external signal already is', () => {
    const external = new AbortController();
    external.abort();
    const budget = new Budget(10_000, systemClock, external.signal);
    expect(budget.endReason?.kind).toBe('cancelled');
  });

  it('expireIfDue ends it at once when the clock is past the deadline and its timer is overdue', () => {
    let skipped = 0;
    const budget = new Budget(10_000, { now: () => performance.now() + skipped });
    const ended = vi.fn();
    budget.onEnd(ended);
    expect(budget.expireIfDue()).toBe(false);
    expect(budget.signal.aborted).toBe(false);
    skipped = 10_001; // an event-loop stall: the clock is past the deadline, the timer has not run
    expect(budget.expireIfDue()).toBe(true);
    expect(budget.endReason?.kind).toBe('budget');
    expect(ended).toHaveBeenCalledTimes(1);
    expect(budget.expireIfDue()).toBe(true);
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it('dispose stops the timer and unlinks the external signal without aborting', async () => {
    const external = new AbortController();
    const budget = new Budget(30, systemClock, external.signal);
    budget.dispose();
    external.abort();
    await elapse(60);
    expect(budget.signal.aborted).toBe(false);
  });
});

describe('HedgeTokenBucket', () => {
  it('starts full, spends one token per hedge, and throttles when empty', () => {
    const bucket = new HedgeTokenBucket(0.5, 2);
    const throttled = vi.fn();
    bucket.onThrottled(throttled);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(throttled).toHaveBeenCalledTimes(1);
    bucket.earn();
    expect(bucket.tryTake()).toBe(false);
    bucket.earn();
    expect(bucket.tryTake()).toBe(true);
  });

  it('never holds more than its capacity, and 10 primaries at ratio 0.1 earn one hedge', () => {
    const bucket = new HedgeTokenBucket(0.1, 1);
    for (let i = 0; i < 100; i++) bucket.earn();
    expect(bucket.available).toBe(1);
    expect(bucket.tryTake()).toBe(true);
    for (let i = 0; i < 10; i++) bucket.earn();
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
  });

  it('with capacity 0 never hedges', () => {
    const bucket = new HedgeTokenBucket(1, 0);
    bucket.earn();
    expect(bucket.tryTake()).toBe(false);
  });
});

describe('ConcurrencyGate', () => {
  it('caps holders, hands slots over in FIFO order, and release is idempotent', async () => {
    const gate = new ConcurrencyGate(2);
    const signal = new AbortController().signal;
    const r1 = await gate.acquire(signal);
    await gate.acquire(signal);
    const order: number[] = [];
    const w3 = gate.acquire(signal).then((r) => {
      order.push(3);
      return r;
    });
    const w4 = gate.acquire(signal).then((r) => {
      order.push(4);
      return r;
    });
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(2);
    r1();
    r1();
    const r3 = await w3;
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(1);
    r3();
    await w4;
    expect(order).toEqual([3, 4]);
    expect(gate.inFlight).toBe(2);
  });

  it('a waiter whose signal aborts leaves the queue and rejects with the reason', async () => {
    const gate = new ConcurrencyGate(1);
    const release = await gate.acquire(new AbortController().signal);
    const ctl = new AbortController();
    const waiting = gate.acquire(ctl.signal);
    ctl.abort(new Error('budget'));
    await expect(waiting).rejects.toThrow('budget');
    expect(gate.waiting).toBe(0);
    release();
    expect(gate.inFlight).toBe(0);
  });
});

describe('retryDelayMs', () => {
  const opts = (random: number) => ({ baseMs: 100, maxMs: 1000, random: () => random });
  it('backs off exponentially with equal jitter, capped', () => {
    expect(retryDelayMs('service_unavailable', 0, undefined, opts(0))).toBe(50);
    expect(retryDelayMs('service_unavailable', 0, undefined, opts(0.999))).toBe(99);
    expect(retryDelayMs('service_unavailable', 2, undefined, opts(0))).toBe(200);
    expect(retryDelayMs('service_unavailable', 10, undefined, opts(0))).toBe(500);
  });
  it('waits out a 429 retry-after (plus a small spread)', () => {
    expect(retryDelayMs('rate_limited', 0, 2000, opts(0))).toBe(2000);
    const spread = retryDelayMs('rate_limited', 0, 2000, opts(0.999));
    expect(spread).toBeGreaterThan(2000);
    expect(spread).toBeLessThan(2250);
  });
});

describe('AdmissionControl', () => {
  const make = (fleet: FakeFleet, released: string[] = []) =>
    new AdmissionControl(fleet, {
      timeoutMs: 80,
      denialCacheMaxMs: 1000,
      releaseLease: (_p, _m, id) => released.push(id),
      logger: silentLogger,
    });
  const signal = () => new AbortController().signal;

  it('remembers a denial so the next check costs no round trip', async () => {
    const fleet = new FakeFleet();
    fleet.open('openai');
    const admission = make(fleet);
    expect(await admission.admit('openai', 'm', signal())).toMatchObject({ admitted: false, reason: 'circuit_open' });
    expect(admission.cachedDenial('openai')).toMatchObject({ reason: 'circuit_open' });
    expect(await admission.admit('openai', 'm', signal())).toMatchObject({ admitted: false });
    expect(fleet.admits).toEqual(['openai']);
  });

  it('caps how long a denial is remembered', async () => {
    const fleet = new FakeFleet();
    fleet.open('openai');
    const admission = new AdmissionControl(fleet, { timeoutMs: 80, denialCacheMaxMs: 30, releaseLease: () => {}, logger: silentLogger });
    await untilSettled(admission.admit('openai', 'm', signal()));
    await elapse(29);
    expect(admission.cachedDenial('openai')).toMatchObject({ reason: 'circuit_open' });
    await elapse(1);
    expect(admission.cachedDenial('openai')).toBeUndefined();
  });

  it('a 429 seen locally cools the provider down at once, for exactly its retry-after', async () => {
    const admission = make(new FakeFleet());
    admission.noteCooldown('anthropic', 60);
    expect(admission.cachedDenial('anthropic')).toMatchObject({ reason: 'cooldown' });
    await elapse(59);
    expect(admission.cachedDenial('anthropic')).toMatchObject({ reason: 'cooldown' });
    await elapse(1);
    expect(admission.cachedDenial('anthropic')).toBeUndefined();
  });

  it('fails open when the store is slow or failing', async () => {
    const fleet = new FakeFleet();
    fleet.admitDelayMs = 500;
    const admission = make(fleet);
    const failOpen = vi.fn();
    admission.onFailOpen(failOpen);
    const start = now();
    expect(await untilSettled(admission.admit('openai', 'm', signal()))).toEqual({ admitted: true });
    // At its 80 ms deadline, not at the store's 500 ms answer.
    expect(now() - start).toBe(80);
    fleet.admitDelayMs = 0;
    fleet.admitError = new Error('redis down');
    expect(await untilSettled(admission.admit('gemini', 'm', signal()))).toEqual({ admitted: true });
    expect(failOpen).toHaveBeenCalledTimes(2);
  });

  it('hands back a probe lease that arrives after the caller gave up', async () => {
    const fleet = new FakeFleet(3, 0);
    fleet.open('openai', 10);
    fleet.admitDelayMs = 40;
    const released: string[] = [];
    const admission = make(fleet, released);
    const ctl = new AbortController();
    const pending = admission.admit('openai', 'm', ctl.signal);
    ctl.abort();
    expect(AdmissionControl.isAborted(await untilSettled(pending))).toBe(true);
    expect(released).toEqual([]);
    // The store grants the lease at 40 ms, to nobody: it goes straight back.
    await elapse(40);
    expect(released).toEqual(['lease-1']);
  });
});

describe('OutcomeReporter', () => {
  const outcome = { provider: 'openai' as const, model: 'm', outcome: 'success' as const, latencyMs: 1 };

  it('never throws, counts failures, and drains', async () => {
    const fleet = new FakeFleet();
    const reporter = new OutcomeReporter(fleet, 10, silentLogger);
    fleet.reportError = new Error('redis down');
    reporter.report(outcome);
    fleet.reportError = undefined;
    fleet.reportThrowsSync = true;
    expect(() => reporter.report(outcome)).not.toThrow();
    expect(await untilSettled(reporter.drain(1000))).toBe(true);
    expect(reporter.stats).toMatchObject({ pending: 0, failed: 2 });
  });

  it('drops reports beyond its bound instead of queueing them', async () => {
    const never = { admit: async () => ({ admitted: true as const }), report: () => new Promise<void>(() => {}) };
    const reporter = new OutcomeReporter(never, 2, silentLogger);
    for (let i = 0; i < 5; i++) reporter.report(outcome);
    expect(reporter.stats).toMatchObject({ pending: 2, dropped: 3 });
    expect(await untilSettled(reporter.drain(30))).toBe(false);
  });
});
