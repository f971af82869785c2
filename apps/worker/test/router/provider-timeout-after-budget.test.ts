/**
 * A provider `timeout` that fires once the job's budget has already run out is our abort, not the
 * provider's fault (provider-call.ts). After an event-loop stall Node runs expired timers grouped
 * by duration, so a call's own deadline can fire before the budget's timer although the budget
 * ended first. Counting that as `timeout` blamed healthy providers and fed their breakers.
 *
 * The stall is reproduced deterministically with an injected clock: the adapter moves the clock
 * past the job's deadline and then rejects with `timeout`, while the budget's (fake-time) timer has
 * not fired yet — exactly the order a stalled event loop produces.
 */
import type { ChatRequest, ChatResult, ProviderAdapter } from '@switchyard/providers';
import { createLogger, type ProviderName } from '@switchyard/shared';
import { describe, expect, it } from 'vitest';
import { Router, type RouterError } from '../../src/router/index.ts';
import { type Clock, DEFAULT_TUNING } from '../../src/router/types.ts';
import { elapse, FakeFleet, FakeProviderError, REQUEST, silentLogger, TEST_CONFIG, timed, useFakeTime } from './fakes.ts';

useFakeTime();

/** performance.now() plus a jump the test controls: time the event loop "lost" in a stall. */
class SteppedClock implements Clock {
  skippedMs = 0;
  now(): number {
    return performance.now() + this.skippedMs;
  }
}

/**
 * An adapter whose call fails with its own deadline (`timeout`) after `afterMs`; just before it
 * does, `stallMs` of clock time pass at once.
 */
function timingOut(provider: ProviderName, clock: SteppedClock, stallMs: number, afterMs = 20) {
  const calls: Array<{ signal: AbortSignal; timeoutMs: number | undefined }> = [];
  const adapter: ProviderAdapter = {
    provider,
    models: ['a'],
    chat(_request: ChatRequest, options: { signal: AbortSignal; timeoutMs?: number }) {
      calls.push({ signal: options.signal, timeoutMs: options.timeoutMs });
      return new Promise<ChatResult>((_resolve, reject) => {
        setTimeout(() => {
          clock.skippedMs += stallMs;
          reject(new FakeProviderError({ errorClass: 'timeout', provider, message: `${provider} fake: its own deadline passed` }));
        }, afterMs);
      });
    },
    probe: async () => ({ state: 'active', latencyMs: 1 }),
  };
  return { adapter, calls };
}

function routerWith(
  adapters: ProviderAdapter[],
  clock: Clock,
  fleet = new FakeFleet(),
  logger = silentLogger,
  abortGraceMs = DEFAULT_TUNING.abortGraceMs,
) {
  const router = new Router({
    adapters: new Map(adapters.map((a) => [a.provider as ProviderName, a])),
    fleet,
    config: TEST_CONFIG,
    logger,
    clock,
    tuning: { ...DEFAULT_TUNING, random: () => 0.5, abortGraceMs },
  });
  return { router, fleet };
}

describe('a provider timeout after the budget ran out', () => {
  it('is recorded and reported as `aborted` (the job: `budget_exhausted`), never `timeout`, and leaves the breaker alone', async () => {
    const clock = new SteppedClock();
    const budgetMs = 300;
    // The clock jumps a whole second past the 300 ms budget before the adapter's deadline error lands.
    const openai = timingOut('openai', clock, 1_000);
    const { router, fleet } = routerWith([openai.adapter], clock);

    const { error } = await timed(() => router.route({ id: 'late-timeout', candidates: ['openai/a'], request: REQUEST, budgetMs }));

    const err = error as RouterError;
    expect(err.errorClass).toBe('budget_exhausted');
    expect(err.reason).toBe('budget');
    expect(err.attempts.map((a) => a.outcome)).toEqual(['aborted']);
    expect(err.attempts[0]?.message).toContain('budget');
    expect(fleet.reports.map((r) => r.outcome)).toEqual(['aborted']);
    expect(fleet.consecutiveFailures('openai')).toBe(0);
    expect(openai.calls).toHaveLength(1);
    expect(openai.calls[0]?.signal.aborted).toBe(true);
  });

  it('its slot is given back at once, without a false "abort ignored" warning after the grace', async () => {
    const clock = new SteppedClock();
    const openai = timingOut('openai', clock, 1_000);
    const lines: Array<{ msg?: string }> = [];
    const logger = createLogger({ name: 'late-timeout', level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { router } = routerWith([openai.adapter], clock, new FakeFleet(), logger, 50);

    await timed(() => router.route({ id: 'late-timeout-3', candidates: ['openai/a'], request: REQUEST, budgetMs: 300 }));
    await elapse(150);

    expect(router.stats().gates.openai).toMatchObject({ inFlight: 0, waiting: 0 });
    expect(lines.map((l) => l.msg)).not.toContain('router.call.abort_ignored');
  });

  it('does not take the fallback: the budget is spent, so no next candidate is started', async () => {
    const clock = new SteppedClock();
    const openai = timingOut('openai', clock, 1_000);
    const gemini = timingOut('gemini', clock, 0);
    const { router, fleet } = routerWith([openai.adapter, gemini.adapter], clock);

    const { error } = await timed(() =>
      router.route({ id: 'late-timeout-2', candidates: ['openai/a', 'gemini/a'], request: REQUEST, budgetMs: 300 }),
    );

    expect((error as RouterError).errorClass).toBe('budget_exhausted');
    expect(gemini.calls).toHaveLength(0);
    expect(fleet.reports.map((r) => `${r.provider}:${r.outcome}`)).toEqual(['openai:aborted']);
  });

  it('control: the same timeout while budget remains is the provider’s `timeout`, counted toward its breaker', async () => {
    const clock = new SteppedClock();
    // The clock moves 100 ms: the call is slow, but well inside a 5 s budget.
    const openai = timingOut('openai', clock, 100);
    const { router, fleet } = routerWith([openai.adapter], clock);

    const { error } = await timed(() => router.route({ id: 'timeout', candidates: ['openai/a'], request: REQUEST, budgetMs: 5_000 }));

    const err = error as RouterError;
    expect(err.errorClass).toBe('timeout');
    expect(err.attempts.map((a) => a.outcome)).toEqual(['timeout']);
    expect(fleet.reports.map((r) => r.outcome)).toEqual(['timeout']);
    expect(fleet.consecutiveFailures('openai')).toBe(1);
  });
});
