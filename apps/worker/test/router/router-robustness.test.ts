/**
 * The router against misbehaving parts and as an observable component: adapters that ignore their
 * signal or fail without a classified error, its events, and its log lines (one event per line,
 * jobId and provider as fields, no secrets).
 */
import { type ChatResult, type ProviderAdapter, ProviderError } from '@switchyard/providers';
import { createLogger, type ProviderName } from '@switchyard/shared';
import { describe, expect, it } from 'vitest';
import { type CallEndEvent, type CallStartEvent, type JobEndEvent, Router, type RouterError } from '../../src/router/index.ts';
import { elapse, FakeAdapter, FakeFleet, makeRouter, REQUEST, TEST_CONFIG, timed, untilSettled, useFakeTime } from './fakes.ts';

useFakeTime();

/** An adapter that breaks the contract in a chosen way. */
function rogue(provider: ProviderName, chat: ProviderAdapter['chat']): ProviderAdapter {
  return { provider, models: ['x'], chat, probe: async () => ({ state: 'active', latencyMs: 0 }) };
}

describe('misbehaving adapters', () => {
  it('one that ignores its signal: the job still ends at the budget, and its slot comes back after the grace', async () => {
    let settle: ((r: ChatResult) => void) | undefined;
    const deaf = rogue('openai', () => new Promise<ChatResult>((resolve) => (settle = resolve)));
    const fleet = new FakeFleet();
    const routerWithRogue = new Router({
      adapters: new Map([['openai', deaf]]),
      fleet,
      config: { ...TEST_CONFIG, PROVIDER_CONCURRENCY: { openai: 1 } },
      logger: createLogger({ name: 't', level: 'silent' }),
      tuning: { abortGraceMs: 100 },
    });
    const { ms, error } = await timed(() => routerWithRogue.route({ id: 'd1', candidates: ['openai/x'], request: REQUEST, budgetMs: 200 }));
    expect((error as RouterError).reason).toBe('budget');
    expect(ms).toBe(200);
    expect(fleet.reports).toMatchObject([{ outcome: 'aborted' }]);
    // The adapter never settled: the slot is still held until the 100 ms grace runs out.
    expect(routerWithRogue.stats().gates.openai?.inFlight).toBe(1);
    await elapse(99);
    expect(routerWithRogue.stats().gates.openai?.inFlight).toBe(1);
    await elapse(1);
    expect(routerWithRogue.stats().gates.openai?.inFlight).toBe(0);
    settle?.({ content: 'late', finishReason: 'stop', usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, model: 'x' });
    await elapse(5);
    expect(routerWithRogue.stats().gates.openai?.inFlight).toBe(0);
    expect(fleet.reports).toHaveLength(1);
  });

  it('one that rejects with a plain Error or throws: invalid_response, scrubbed of secrets, then the fallback', async () => {
    const plain = rogue('openai', async () => {
      throw new Error('boom with key sk-proj-abcdefghijklmnopqrstuvwxyz123456');
    });
    const sync = rogue('gemini', () => {
      throw new TypeError('not even a promise');
    });
    const fleet = new FakeFleet();
    const router = new Router({
      adapters: new Map<ProviderName, ProviderAdapter>([
        ['openai', plain],
        ['gemini', sync],
        ['anthropic', new FakeAdapter('anthropic')],
      ]),
      fleet,
      config: TEST_CONFIG,
      logger: createLogger({ name: 't', level: 'silent' }),
    });
    const result = await untilSettled(router.route({ id: 'd2', candidates: ['openai/x', 'gemini/x', 'anthropic/b'], request: REQUEST }));
    expect(result.provider).toBe('anthropic');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['invalid_response', 'invalid_response', 'success']);
    const message = result.attempts[0]?.message ?? '';
    expect(message).toContain('boom');
    expect(message).not.toContain('sk-proj-abcdef');
    expect(JSON.stringify(fleet.reports)).not.toContain('sk-proj-abcdef');
  });
});

describe('the real ProviderError', () => {
  it('is classified by its errorClass, with its retry-after', async () => {
    const limited = rogue('openai', async () => {
      throw new ProviderError({ errorClass: 'rate_limited', provider: 'openai', message: '429', status: 429, retryAfterMs: 60_000 });
    });
    const fleet = new FakeFleet();
    const router = new Router({
      adapters: new Map<ProviderName, ProviderAdapter>([
        ['openai', limited],
        ['anthropic', new FakeAdapter('anthropic')],
      ]),
      fleet,
      config: TEST_CONFIG,
      logger: createLogger({ name: 't', level: 'silent' }),
    });
    const result = await untilSettled(router.route({ id: 'pe', candidates: ['openai/x', 'anthropic/b'], request: REQUEST }));
    expect(result.attempts.map((a) => a.outcome)).toEqual(['rate_limited', 'success']);
    expect(fleet.reportsFor('openai')).toMatchObject([{ outcome: 'rate_limited', retryAfterMs: 60_000 }]);
  });
});

describe('events', () => {
  it('tell every call start and end and every job end, with the job id', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 5, fail: 'api_key_invalid' });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 5 });
    const { router } = makeRouter({ adapters: [openai, anthropic] });
    const starts: CallStartEvent[] = [];
    const ends: CallEndEvent[] = [];
    const jobs: JobEndEvent[] = [];
    router.onCallStart((e) => starts.push(e));
    router.onCallEnd((e) => ends.push(e));
    const sub = router.onJobEnd((e) => jobs.push(e));
    router.onJobEnd(() => {
      throw new Error('a broken listener never breaks the router');
    });
    await untilSettled(router.route({ id: 'e1', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(starts.map((s) => [s.jobId, s.provider, s.kind])).toEqual([
      ['e1', 'openai', 'primary'],
      ['e1', 'anthropic', 'fallback'],
    ]);
    expect(ends.map((e) => [e.jobId, e.attempt.outcome])).toEqual([
      ['e1', 'api_key_invalid'],
      ['e1', 'success'],
    ]);
    expect(jobs).toMatchObject([{ jobId: 'e1', ok: true, provider: 'anthropic' }]);
    sub.dispose();
    await untilSettled(router.route({ id: 'e2', candidates: ['anthropic/b'], request: REQUEST }));
    expect(jobs).toHaveLength(1);
    expect(router.stats().activeJobs).toBe(0);
  });
});

describe('logs', () => {
  it('one JSON event per line, with jobId and provider as fields, and no secrets', async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'router-log-test', level: 'debug' }, { write: (line: string) => lines.push(line) });
    const leaky = rogue('openai', async () => {
      throw new Error('upstream said: Authorization: Bearer sk-ant-api03-secretsecretsecretsecret');
    });
    const router = new Router({
      adapters: new Map<ProviderName, ProviderAdapter>([
        ['openai', leaky],
        ['anthropic', new FakeAdapter('anthropic', { latencyMs: 5 })],
      ]),
      fleet: new FakeFleet(),
      config: TEST_CONFIG,
      logger,
    });
    await untilSettled(router.route({ id: 'log-1', candidates: ['openai/x', 'anthropic/b'], request: REQUEST }));
    const fleet = new FakeFleet();
    fleet.open('openai');
    const skipping = new Router({ adapters: new Map([['openai', leaky]]), fleet, config: TEST_CONFIG, logger });
    await untilSettled(skipping.route({ id: 'log-2', candidates: ['openai/x'], request: REQUEST })).catch(() => {});

    const events = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byMsg = (msg: string) => events.filter((e) => e.msg === msg);
    expect(byMsg('router.call.start').map((e) => [e.jobId, e.provider])).toEqual([
      ['log-1', 'openai'],
      ['log-1', 'anthropic'],
    ]);
    expect(byMsg('router.call.end').map((e) => [e.jobId, e.provider, e.outcome])).toEqual([
      ['log-1', 'openai', 'invalid_response'],
      ['log-1', 'anthropic', 'success'],
    ]);
    expect(byMsg('router.job.completed')).toMatchObject([{ jobId: 'log-1', provider: 'anthropic', level: 20 }]);
    expect(byMsg('router.skip')).toMatchObject([{ jobId: 'log-2', provider: 'openai', reason: 'circuit_open' }]);
    expect(byMsg('router.job.failed')).toMatchObject([{ jobId: 'log-2', errorClass: 'no_provider_available' }]);
    expect(lines.join('')).not.toContain('secretsecret');
  });
});
