/**
 * The job's one hard budget and external cancel: the job ends at the budget (never after), every
 * call in flight is aborted, and every abort is reported as `aborted` (never a breaker failure).
 */
import { describe, expect, it } from 'vitest';
import { isRouterError, type RouterError } from '../../src/router/index.ts';
import { elapse, FakeAdapter, makeRouter, now, REQUEST, rejection, timed, untilSettled, useFakeTime } from './fakes.ts';

useFakeTime();

const HANG = { latencyMs: Number.POSITIVE_INFINITY };

describe('budget', () => {
  it('holds: every candidate hangs, a 500 ms budget ends at 500 ms, every call aborted and reported aborted', async () => {
    const openai = new FakeAdapter('openai', HANG);
    const anthropic = new FakeAdapter('anthropic', HANG);
    const gemini = new FakeAdapter('gemini', HANG);
    const { router, fleet } = makeRouter({ adapters: [openai, anthropic, gemini], config: { HEDGE_DELAY_MS: 100, HEDGE_STAGGER_MS: 50 } });

    const { ms, error } = await timed(() =>
      router.route({ id: 'j1', candidates: ['openai/a', 'anthropic/b', 'gemini/c'], request: REQUEST, budgetMs: 500 }),
    );

    // At the budget, not a moment later.
    expect(ms).toBe(500);
    expect(isRouterError(error)).toBe(true);
    const err = error as RouterError;
    expect(err.errorClass).toBe('budget_exhausted');
    expect(err.reason).toBe('budget');
    expect(err.permanent).toBe(true);
    expect(err.jobError.class).toBe('budget_exhausted');
    // Hedged: all three were started, and each one's signal was aborted by the time the job ended.
    const calls = [...openai.calls, ...anthropic.calls, ...gemini.calls];
    expect(calls).toHaveLength(3);
    for (const call of calls) {
      expect(call.signal.aborted).toBe(true);
      expect(call.abortedAt).toBeDefined();
    }
    expect(err.attempts.map((a) => a.outcome)).toEqual(['aborted', 'aborted', 'aborted']);
    expect(err.attempts.map((a) => a.hedge)).toEqual([false, true, true]);
    expect(fleet.reports.map((r) => r.outcome)).toEqual(['aborted', 'aborted', 'aborted']);
    expect(fleet.consecutiveFailures('openai') + fleet.consecutiveFailures('anthropic') + fleet.consecutiveFailures('gemini')).toBe(0);
  });

  it('no final sweep: a success arriving right after the budget is not taken', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 400 });
    const { router } = makeRouter({ adapters: [openai] });
    const { ms, error } = await timed(() => router.route({ id: 'j2', candidates: ['openai/a'], request: REQUEST, budgetMs: 300 }));
    expect((error as RouterError).reason).toBe('budget');
    expect(ms).toBe(300);
    expect(openai.calls[0]?.signal.aborted).toBe(true);
  });

  it('passes the per-attempt deadline only when it falls inside the budget', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 5 });
    const { router } = makeRouter({ adapters: [openai], config: { ATTEMPT_TIMEOUT_MS: 1000 } });
    await untilSettled(router.route({ id: 'j3', candidates: ['openai/a'], request: REQUEST, budgetMs: 5000 }));
    expect(openai.calls[0]?.timeoutMs).toBe(1000);
    await untilSettled(router.route({ id: 'j4', candidates: ['openai/a'], request: REQUEST, budgetMs: 500 }));
    // Past the budget, so the budget (aborted, never counted) ends a slow call, not a provider `timeout`.
    expect(openai.calls[1]?.timeoutMs).toBeGreaterThan(500);
  });
});

describe('external cancel', () => {
  it('aborts every call at once and reports them aborted', async () => {
    const openai = new FakeAdapter('openai', HANG);
    const anthropic = new FakeAdapter('anthropic', HANG);
    const { router, fleet } = makeRouter({ adapters: [openai, anthropic], config: { HEDGE_DELAY_MS: 50 } });
    const cancel = new AbortController();
    const job = router.route({
      id: 'c1',
      candidates: ['openai/a', 'anthropic/b'],
      request: REQUEST,
      budgetMs: 10_000,
      signal: cancel.signal,
    });
    await elapse(150);
    expect(openai.calls).toHaveLength(1);
    expect(anthropic.calls).toHaveLength(1);
    const cancelledAt = now();
    cancel.abort(new Error('client cancel'));
    const error = await rejection(job);
    // Settled by the abort itself: no timer had to run (fake time never moved).
    expect(now() - cancelledAt).toBe(0);
    expect(error.reason).toBe('cancelled');
    expect(error.errorClass).toBe('aborted');
    expect((error.cause as Error).message).toBe('client cancel');
    for (const call of [...openai.calls, ...anthropic.calls]) {
      expect(call.abortedAt).toBeDefined();
      expect(call.abortedAt).toBe(cancelledAt);
    }
    expect(fleet.reports.map((r) => r.outcome)).toEqual(['aborted', 'aborted']);
    expect(fleet.reports.every((r) => r.message?.includes('cancelled'))).toBe(true);
  });

  it('a job cancelled before it starts makes no call', async () => {
    const openai = new FakeAdapter('openai');
    const { router, fleet } = makeRouter({ adapters: [openai] });
    const cancel = new AbortController();
    cancel.abort();
    const error = await rejection(router.route({ id: 'c2', candidates: ['openai/a'], request: REQUEST, signal: cancel.signal }));
    expect(error.reason).toBe('cancelled');
    expect(openai.calls).toHaveLength(0);
    expect(fleet.admits).toHaveLength(0);
  });

  it('a cancel while waiting for a concurrency slot ends the wait at once', async () => {
    const openai = new FakeAdapter('openai', HANG);
    const { router } = makeRouter({ adapters: [openai], config: { PROVIDER_CONCURRENCY: { openai: 1 } } });
    const first = new AbortController();
    const second = new AbortController();
    const j1 = router.route({ id: 'w1', candidates: ['openai/a'], request: REQUEST, signal: first.signal });
    const j2 = router.route({ id: 'w2', candidates: ['openai/a'], request: REQUEST, signal: second.signal });
    await elapse(30);
    expect(router.stats().gates.openai).toEqual({ limit: 1, inFlight: 1, waiting: 1 });
    const cancelledAt = now();
    second.abort();
    expect((await rejection(j2)).reason).toBe('cancelled');
    // At once: the wait ended without any timer running.
    expect(now()).toBe(cancelledAt);
    expect(router.stats().gates.openai?.waiting).toBe(0);
    first.abort();
    expect((await rejection(j1)).reason).toBe('cancelled');
    expect(openai.calls).toHaveLength(1);
    expect(router.stats().gates.openai?.inFlight).toBe(0);
  });
});
