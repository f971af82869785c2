/**
 * Streaming: tokens of one call only reach the client; hedging stops at the first token (the job
 * commits to that call, every other call is aborted and nothing new starts); before the first
 * token a fallback may still take over, after it a failure is the client's error.
 */
import { describe, expect, it } from 'vitest';
import type { CommitEvent } from '../../src/router/index.ts';
import { elapse, FakeAdapter, makeRouter, REQUEST, rejection, untilSettled, useFakeTime } from './fakes.ts';

useFakeTime();

describe('streaming', () => {
  it('commits to the first call that yields a token and aborts the others at once', async () => {
    // The primary is slow to its first token: the hedge starts, then the primary's token wins.
    const openai = new FakeAdapter('openai', { tokens: ['Hel', 'lo'], firstTokenMs: 120, tokenEveryMs: 20, latencyMs: 200 });
    const anthropic = new FakeAdapter('anthropic', { tokens: ['Bon', 'jour'], firstTokenMs: 200, tokenEveryMs: 20, latencyMs: 300 });
    const { router, fleet } = makeRouter({ adapters: [openai, anthropic], config: { HEDGE_DELAY_MS: 50 } });
    const commits: CommitEvent[] = [];
    router.onCommit((e) => commits.push(e));
    const tokens: string[] = [];
    const result = await untilSettled(
      router.route({
        id: 's1',
        candidates: ['openai/a', 'anthropic/b'],
        request: REQUEST,
        onToken: (t) => tokens.push(t),
      }),
    );
    expect(result.provider).toBe('openai');
    expect(tokens).toEqual(['Hel', 'lo']);
    expect(openai.calls[0]?.streamed).toBe(true);
    expect(anthropic.calls).toHaveLength(1);
    const hedge = anthropic.calls[0];
    expect(hedge?.signal.aborted).toBe(true);
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ jobId: 's1', provider: 'openai' });
    // Aborted at the primary's first token (120 ms), before the primary finished (200 ms).
    const t0 = openai.calls[0]?.startedAt as number;
    expect((hedge?.abortedAt as number) - t0).toBe(120);
    expect((openai.calls[0]?.endedAt as number) - t0).toBe(200);
    expect(commits[0]?.atMs).toBe(120);
    expect(result.latency_ms).toBe(200);
    expect(fleet.reportsFor('anthropic')).toMatchObject([{ outcome: 'aborted' }]);
  });

  it('after the first token no hedge starts, however long the stream takes', async () => {
    const openai = new FakeAdapter('openai', { tokens: ['a', 'b', 'c'], firstTokenMs: 10, tokenEveryMs: 150, latencyMs: 400 });
    const anthropic = new FakeAdapter('anthropic');
    const { router } = makeRouter({ adapters: [openai, anthropic], config: { HEDGE_DELAY_MS: 150 } });
    const tokens: string[] = [];
    const result = await untilSettled(
      router.route({
        id: 's2',
        candidates: ['openai/a', 'anthropic/b'],
        request: REQUEST,
        onToken: (t) => tokens.push(t),
      }),
    );
    expect(tokens).toEqual(['a', 'b', 'c']);
    expect(result.provider).toBe('openai');
    expect(anthropic.calls).toHaveLength(0);
  });

  it('a failure before the first token: the fallback takes over the stream', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 10, fail: 'service_unavailable' });
    const anthropic = new FakeAdapter('anthropic', { tokens: ['ok'], firstTokenMs: 10 });
    const { router } = makeRouter({ adapters: [openai, anthropic], tuning: { maxSameProviderRetries: 0 } });
    const tokens: string[] = [];
    const result = await untilSettled(
      router.route({
        id: 's3',
        candidates: ['openai/a', 'anthropic/b'],
        request: REQUEST,
        onToken: (t) => tokens.push(t),
      }),
    );
    expect(result.provider).toBe('anthropic');
    expect(tokens).toEqual(['ok']);
  });

  it('a failure after the first token is the client error: no fallback, and not retried at the queue', async () => {
    const openai = new FakeAdapter('openai', {
      tokens: ['par', 'tial'],
      firstTokenMs: 10,
      tokenEveryMs: 10,
      failAfterTokens: 'network_error',
    });
    const anthropic = new FakeAdapter('anthropic');
    const { router, fleet } = makeRouter({ adapters: [openai, anthropic] });
    const tokens: string[] = [];
    const err = await rejection(
      router.route({ id: 's4', candidates: ['openai/a', 'anthropic/b'], request: REQUEST, onToken: (t) => tokens.push(t) }),
    );
    expect(tokens).toEqual(['par', 'tial']);
    expect(err.errorClass).toBe('network_error');
    expect(err.tokensEmitted).toBe(true);
    expect(err.permanent).toBe(true);
    expect(err.provider).toBe('openai');
    expect(err.message).toContain('after the first token');
    expect(anthropic.calls).toHaveLength(0);
    // A cut stream is a real failure of the provider and counts toward its breaker.
    expect(fleet.reportsFor('openai')).toMatchObject([{ outcome: 'network_error' }]);
  });

  it('the budget ends a committed stream too', async () => {
    const openai = new FakeAdapter('openai', { tokens: ['x'], firstTokenMs: 10, latencyMs: Number.POSITIVE_INFINITY });
    const { router } = makeRouter({ adapters: [openai] });
    const err = await rejection(router.route({ id: 's5', candidates: ['openai/a'], request: REQUEST, budgetMs: 200, onToken: () => {} }));
    expect(err.reason).toBe('budget');
    expect(err.tokensEmitted).toBe(true);
    expect(err.provider).toBe('openai');
    expect(openai.calls[0]?.signal.aborted).toBe(true);
  });

  it('a token sink that throws does not break the job', async () => {
    const openai = new FakeAdapter('openai', { tokens: ['a', 'b'], firstTokenMs: 5, tokenEveryMs: 5 });
    const { router } = makeRouter({ adapters: [openai] });
    const result = await untilSettled(
      router.route({
        id: 's6',
        candidates: ['openai/a'],
        request: REQUEST,
        onToken: () => {
          throw new Error('sink closed');
        },
      }),
    );
    expect(result.provider).toBe('openai');
  });

  it('tokens of calls that lost never reach the client, even if their adapter keeps emitting', async () => {
    const openai = new FakeAdapter('openai', { tokens: ['win'], firstTokenMs: 80 });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 2000 });
    const { router } = makeRouter({ adapters: [openai, anthropic], config: { HEDGE_DELAY_MS: 20 } });
    const tokens: string[] = [];
    await untilSettled(
      router.route({ id: 's7', candidates: ['openai/a', 'anthropic/b'], request: REQUEST, onToken: (t) => tokens.push(t) }),
    );
    await elapse(20);
    expect(tokens).toEqual(['win']);
    expect(anthropic.calls[0]?.signal.aborted).toBe(true);
  });
});
