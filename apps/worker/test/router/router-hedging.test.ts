/**
 * Staggered hedging, fallback on failure, the class table's decisions, same-provider retries,
 * hedge rationing and per-provider concurrency caps.
 */
import { describe, expect, it } from 'vitest';
import type { RouterError } from '../../src/router/index.ts';
import { elapse, FakeAdapter, makeRouter, REQUEST, rejection, timed, untilSettled, useFakeTime } from './fakes.ts';

useFakeTime();

describe('staggered hedging', () => {
  it('primary at 3 s, fallback at 50 ms: ends near hedge delay + 50 ms, primary aborted and reported aborted', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 3000 });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 50 });
    const { router, fleet } = makeRouter({ adapters: [openai, anthropic], config: { HEDGE_DELAY_MS: 200 } });

    const { ms, value } = await timed(() => router.route({ id: 'h1', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));

    // The hedge at 200 ms, its answer 50 ms later.
    expect(ms).toBe(250);
    expect(value?.provider).toBe('anthropic');
    expect(value?.content).toBe('anthropic/b says hi');
    expect(value?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    const primary = openai.calls[0];
    expect(primary?.signal.aborted).toBe(true);
    // The loser was aborted the moment the winner answered.
    expect(primary?.abortedAt).toBe(anthropic.calls[0]?.endedAt);
    expect(value?.attempts).toMatchObject([
      { provider: 'openai', model: 'a', outcome: 'aborted', hedge: false },
      { provider: 'anthropic', model: 'b', outcome: 'success', hedge: true },
    ]);
    expect(value?.attempts[1]?.started_ms).toBe(200);
    expect(fleet.reportsFor('openai')).toMatchObject([{ outcome: 'aborted', message: 'aborted: another call of the job won' }]);
    expect(fleet.reportsFor('anthropic')).toMatchObject([{ outcome: 'success' }]);
  });

  it('staggers further hedges HEDGE_STAGGER_MS apart', async () => {
    const slow = { latencyMs: 2000 };
    const openai = new FakeAdapter('openai', slow);
    const anthropic = new FakeAdapter('anthropic', slow);
    const gemini = new FakeAdapter('gemini', { latencyMs: 30 });
    const { router } = makeRouter({ adapters: [openai, anthropic, gemini], config: { HEDGE_DELAY_MS: 100, HEDGE_STAGGER_MS: 150 } });
    const result = await untilSettled(router.route({ id: 'h2', candidates: ['openai/a', 'anthropic/b', 'gemini/c'], request: REQUEST }));
    // The first hedge at HEDGE_DELAY_MS, the next one HEDGE_STAGGER_MS later.
    expect(result.attempts.map((a) => a.started_ms)).toEqual([0, 100, 250]);
    expect(result.provider).toBe('gemini');
    expect(openai.aborted).toHaveLength(1);
    expect(anthropic.aborted).toHaveLength(1);
  });

  it('hedge losers and budget aborts never count toward any breaker (the poisoned-breaker incident)', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 1000 });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 20 });
    const { router, fleet } = makeRouter({ adapters: [openai, anthropic], config: { HEDGE_DELAY_MS: 20 } });
    for (let i = 0; i < 6; i++)
      await untilSettled(router.route({ id: `p${i}`, candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(fleet.reportsFor('openai').map((r) => r.outcome)).toEqual(Array(6).fill('aborted'));
    expect(fleet.consecutiveFailures('openai')).toBe(0);
    expect(fleet.circuit('openai')).toBe('closed');
  });
});

describe('fallback and the class table', () => {
  it('401 on the primary: the fallback starts at once, not at the hedge timer', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 5, fail: 'api_key_invalid' });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 20 });
    const { router, fleet } = makeRouter({ adapters: [openai, anthropic], config: { HEDGE_DELAY_MS: 1000 } });
    const { ms, value } = await timed(() => router.route({ id: 'f1', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    // The 401 at 5 ms, the fallback's answer 20 ms later: the 1 s hedge timer played no part.
    expect(ms).toBe(25);
    expect(value?.provider).toBe('anthropic');
    expect(value?.attempts).toMatchObject([
      { provider: 'openai', outcome: 'api_key_invalid', hedge: false },
      { provider: 'anthropic', outcome: 'success', hedge: false },
    ]);
    expect(value?.attempts[1]?.started_ms).toBe(5);
    expect(fleet.reportsFor('openai')).toMatchObject([{ outcome: 'api_key_invalid' }]);
    expect(fleet.consecutiveFailures('openai')).toBe(1);
  });

  it.each(['bad_request', 'content_policy'] as const)('%s fails the job at once, permanently, and aborts the hedge', async (cls) => {
    const openai = new FakeAdapter('openai', { latencyMs: 150, fail: cls });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 2000 });
    const gemini = new FakeAdapter('gemini', { latencyMs: 10 });
    const { router, fleet } = makeRouter({ adapters: [openai, anthropic, gemini], config: { HEDGE_DELAY_MS: 50, HEDGE_STAGGER_MS: 1000 } });
    const { ms, error } = await timed(() =>
      router.route({ id: `x-${cls}`, candidates: ['openai/a', 'anthropic/b', 'gemini/c'], request: REQUEST }),
    );
    const err = error as RouterError;
    // At the primary's answer (150 ms), not at the hedge's (2 s).
    expect(ms).toBe(150);
    expect(err.errorClass).toBe(cls);
    expect(err.permanent).toBe(true);
    expect(err.provider).toBe('openai');
    expect(err.jobError).toMatchObject({ class: cls, provider: 'openai' });
    expect(anthropic.calls[0]?.signal.aborted).toBe(true);
    expect(gemini.calls).toHaveLength(0);
    expect(fleet.consecutiveFailures('openai')).toBe(0);
  });

  it('every candidate failing transiently: the last class, retryable at the queue level', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 5, fail: 'network_error' });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 5, fail: 'timeout' });
    const { router } = makeRouter({ adapters: [openai, anthropic] });
    const { ms, error } = await timed(() => router.route({ id: 'f2', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    const err = error as RouterError;
    // Two 5 ms failures, one after the other: no hedge timer, no backoff before the fallback.
    expect(ms).toBe(10);
    expect(err.errorClass).toBe('timeout');
    expect(err.reason).toBe('failed');
    expect(err.permanent).toBe(false);
    expect(err.attempts.map((a) => a.outcome)).toEqual(['network_error', 'timeout']);
    expect(err.message).toContain('openai/a: network_error');
  });

  it('only permanent failures (model_not_found everywhere) make a permanent job failure', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 5, fail: 'model_not_found' });
    const { router } = makeRouter({ adapters: [openai] });
    const err = await rejection(router.route({ id: 'f3', candidates: ['openai/a', 'openai/b'], request: REQUEST }));
    expect(err.errorClass).toBe('model_not_found');
    expect(err.permanent).toBe(true);
    expect(openai.calls.map((c) => c.model)).toEqual(['a', 'b']);
  });
});

describe('same-provider retries', () => {
  it('service_unavailable: retried after backoff within the budget, and then succeeds', async () => {
    const openai = new FakeAdapter('openai', [{ latencyMs: 5, fail: 'service_unavailable' }, { latencyMs: 5 }]);
    const { router, fleet } = makeRouter({ adapters: [openai], tuning: { backoffBaseMs: 100 } });
    const result = await untilSettled(router.route({ id: 'r1', candidates: ['openai/a'], request: REQUEST }));
    expect(result.provider).toBe('openai');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['service_unavailable', 'success']);
    // Equal jitter with random 0.5: 75 ms after the failure at 5 ms.
    expect(result.attempts.map((a) => a.started_ms)).toEqual([0, 80]);
    expect(fleet.consecutiveFailures('openai')).toBe(0);
  });

  it('a fallback goes first; the retry only comes when nothing else answered', async () => {
    const openai = new FakeAdapter('openai', [{ latencyMs: 5, fail: 'service_unavailable' }, { latencyMs: 5 }]);
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 5, fail: 'api_key_invalid' });
    const { router } = makeRouter({ adapters: [openai, anthropic] });
    const result = await untilSettled(router.route({ id: 'r2', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(result.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual([
      'openai:service_unavailable',
      'anthropic:api_key_invalid',
      'openai:success',
    ]);
  });

  it('rate_limited: waits out retry-after, and the provider is skipped by other jobs meanwhile', async () => {
    const openai = new FakeAdapter('openai', [{ latencyMs: 5, fail: 'rate_limited', retryAfterMs: 300 }, { latencyMs: 5 }]);
    const { router, fleet } = makeRouter({ adapters: [openai] });
    const job = router.route({ id: 'r3', candidates: ['openai/a'], request: REQUEST });
    await elapse(50);
    const other = await rejection(router.route({ id: 'r4', candidates: ['openai/a'], request: REQUEST }));
    expect(other.errorClass).toBe('no_provider_available');
    const result = await untilSettled(job);
    expect(result.attempts.map((a) => a.outcome)).toEqual(['rate_limited', 'success']);
    expect(result.attempts[1]?.started_ms).toBeGreaterThanOrEqual(300);
    expect(fleet.reportsFor('openai')[0]).toMatchObject({ outcome: 'rate_limited', retryAfterMs: 300 });
    expect(openai.calls).toHaveLength(2);
  });

  it('a retry-after beyond the budget is not waited for', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 5, fail: 'rate_limited', retryAfterMs: 5000 });
    const { router } = makeRouter({ adapters: [openai] });
    const { ms, error } = await timed(() => router.route({ id: 'r5', candidates: ['openai/a'], request: REQUEST, budgetMs: 1000 }));
    // Failed with the 429 at 5 ms, not at the 1 s budget.
    expect(ms).toBe(5);
    expect((error as RouterError).errorClass).toBe('rate_limited');
    expect((error as RouterError).permanent).toBe(false);
  });

  it('retries are bounded per candidate', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 2, fail: 'service_unavailable' });
    const { router } = makeRouter({ adapters: [openai], tuning: { backoffBaseMs: 10, maxSameProviderRetries: 2 } });
    const err = await rejection(router.route({ id: 'r6', candidates: ['openai/a'], request: REQUEST }));
    expect(err.errorClass).toBe('service_unavailable');
    expect(openai.calls).toHaveLength(3);
  });
});

describe('hedge rationing', () => {
  it('a burst of slow primaries launches at most HEDGE_BURST hedges (the rest wait or fail over on their own)', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 300 });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 300 });
    const { router } = makeRouter({
      adapters: [openai, anthropic],
      config: { HEDGE_DELAY_MS: 30, HEDGE_STAGGER_MS: 30, HEDGE_RATIO: 0, HEDGE_BURST: 3 },
    });
    const throttled: string[] = [];
    router.onHedgeThrottled((e) => throttled.push(e.jobId));
    const jobs = Array.from({ length: 20 }, (_, i) =>
      router.route({ id: `b${i}`, candidates: ['openai/a', 'anthropic/b'], request: REQUEST }),
    );
    const results = await untilSettled(Promise.all(jobs));
    expect(results).toHaveLength(20);
    expect(openai.calls).toHaveLength(20);
    expect(anthropic.calls).toHaveLength(3);
    expect(results.flatMap((r) => r.attempts).filter((a) => a.hedge)).toHaveLength(3);
    expect(new Set(throttled).size).toBe(17);
    expect(router.stats().hedgeTokens).toBe(0);
  });

  it('primaries earn tokens back at HEDGE_RATIO', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 1 });
    const { router } = makeRouter({ adapters: [openai], config: { HEDGE_RATIO: 0.25, HEDGE_BURST: 10 } });
    const anthropic = new FakeAdapter('anthropic');
    const { router: slowRouter } = makeRouter({
      adapters: [new FakeAdapter('openai', { latencyMs: 200 }), anthropic],
      config: { HEDGE_DELAY_MS: 10, HEDGE_RATIO: 0.5, HEDGE_BURST: 1 },
    });
    for (let i = 0; i < 4; i++) await untilSettled(router.route({ id: `e${i}`, candidates: ['openai/a'], request: REQUEST }));
    expect(router.stats().hedgeTokens).toBe(10);
    // One token: s1 hedges (bucket 0); s2's primary earns 0.5, not enough; s3's brings it to 1 again.
    const hedged = async (id: string) =>
      (await untilSettled(slowRouter.route({ id, candidates: ['openai/a', 'anthropic/b'], request: REQUEST }))).attempts.some(
        (a) => a.hedge,
      );
    expect(await hedged('s1')).toBe(true);
    expect(await hedged('s2')).toBe(false);
    expect(await hedged('s3')).toBe(true);
    expect(anthropic.calls).toHaveLength(2);
  });

  it('fallbacks after a failure are free: they never wait for a token', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 2, fail: 'service_unavailable' });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 2 });
    const { router } = makeRouter({
      adapters: [openai, anthropic],
      config: { HEDGE_RATIO: 0, HEDGE_BURST: 0 },
      tuning: { maxSameProviderRetries: 0 },
    });
    const results = await untilSettled(
      Promise.all(
        Array.from({ length: 5 }, (_, i) => router.route({ id: `fb${i}`, candidates: ['openai/a', 'anthropic/b'], request: REQUEST })),
      ),
    );
    expect(results.every((r) => r.provider === 'anthropic')).toBe(true);
  });
});

describe('per-provider concurrency gates', () => {
  it('caps in-flight calls per provider; the others wait their turn and still complete', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 60 });
    const { router } = makeRouter({ adapters: [openai], config: { PROVIDER_CONCURRENCY: { openai: 2 } } });
    const results = await untilSettled(
      Promise.all(Array.from({ length: 6 }, (_, i) => router.route({ id: `g${i}`, candidates: ['openai/a'], request: REQUEST }))),
    );
    expect(results).toHaveLength(6);
    expect(openai.maxInFlight).toBe(2);
    expect(router.stats().gates.openai).toEqual({ limit: 2, inFlight: 0, waiting: 0 });
  });

  it('a hedge starts while the primary still waits for its slot; the wait counts as no answer', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 400 });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 10 });
    const { router } = makeRouter({
      adapters: [openai, anthropic],
      config: { PROVIDER_CONCURRENCY: { openai: 1 }, HEDGE_DELAY_MS: 50 },
    });
    const blocker = router.route({ id: 'blk', candidates: ['openai/a'], request: REQUEST });
    await elapse(10);
    const { ms, value } = await timed(() => router.route({ id: 'g2', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(value?.provider).toBe('anthropic');
    // The hedge at 50 ms answered 10 ms later; the blocker held openai's slot for 400 ms.
    expect(ms).toBe(60);
    // The waiting primary never reached the provider, so it left no attempt.
    expect(value?.attempts.map((a) => a.provider)).toEqual(['anthropic']);
    await untilSettled(blocker);
    expect(openai.calls).toHaveLength(1);
  });

  it('uses the default limit for providers not listed', () => {
    const { router } = makeRouter({ adapters: [], config: { PROVIDER_CONCURRENCY_DEFAULT: 7 } });
    expect(router.stats().gates).toEqual({});
  });
});
