/**
 * Property test of the router's invariants over random jobs (provider behaviours, circuits,
 * cooldowns, hedge settings, budgets, streaming, cancels), on fake timers so every run is exact:
 * - the job settles at or before its budget, at the budget only when the budget ended it;
 * - when it settles, no call is left in flight (every loser, hedge, retry aborted);
 * - every call that reached a provider is recorded once as an Attempt and reported once;
 * - every call we aborted is reported as `aborted`, and only those;
 * - hedges never exceed what the token bucket allows; per-provider caps hold.
 */
import type { ErrorClass, ProviderName } from '@switchyard/shared';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isRouterError, Router } from '../../src/router/index.ts';
import { FakeAdapter, FakeFleet, REQUEST, type Step, silentLogger, TEST_CONFIG } from './fakes.ts';

const PROVIDERS: ProviderName[] = ['openai', 'anthropic', 'gemini'];
const FAIL_CLASSES: ErrorClass[] = [
  'api_key_invalid',
  'rate_limited',
  'model_not_found',
  'bad_request',
  'content_policy',
  'service_unavailable',
  'timeout',
  'network_error',
];

const stepArb: fc.Arbitrary<Step> = fc.record(
  {
    latencyMs: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(Number.POSITIVE_INFINITY)),
    fail: fc.constantFrom(...FAIL_CLASSES),
    retryAfterMs: fc.integer({ min: 0, max: 300 }),
    tokens: fc.array(fc.constantFrom('a', 'b'), { minLength: 1, maxLength: 3 }),
    firstTokenMs: fc.integer({ min: 0, max: 300 }),
    tokenEveryMs: fc.integer({ min: 1, max: 50 }),
    failAfterTokens: fc.constantFrom<ErrorClass>('network_error', 'invalid_response'),
  },
  { requiredKeys: ['latencyMs'] },
);

const scenarioArb = fc.record({
  scripts: fc.tuple(...PROVIDERS.map(() => fc.array(stepArb, { minLength: 1, maxLength: 3 }))),
  candidates: fc.array(fc.constantFrom('openai/a', 'anthropic/b', 'gemini/c', 'openai/d'), { minLength: 1, maxLength: 4 }),
  fleetState: fc.tuple(...PROVIDERS.map(() => fc.constantFrom('closed', 'closed', 'open', 'half_open', 'cooldown'))),
  hedgeDelay: fc.integer({ min: 0, max: 300 }),
  stagger: fc.integer({ min: 0, max: 200 }),
  burst: fc.integer({ min: 0, max: 3 }),
  ratio: fc.constantFrom(0, 0.5, 1),
  limit: fc.integer({ min: 1, max: 3 }),
  budgetMs: fc.integer({ min: 20, max: 1000 }),
  streaming: fc.boolean(),
  cancelAtMs: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  jobs: fc.integer({ min: 1, max: 3 }),
});

afterEach(() => {
  vi.useRealTimers();
});

describe('router invariants (property)', () => {
  it('hold for random jobs', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
        try {
          const adapters = PROVIDERS.map((p, i) => new FakeAdapter(p, s.scripts[i]));
          const fleet = new FakeFleet(3, 100, 10_000);
          PROVIDERS.forEach((p, i) => {
            const state = s.fleetState[i];
            if (state === 'open') fleet.open(p);
            if (state === 'half_open') fleet.open(p, 200);
            if (state === 'cooldown') fleet.coolDown(p, 150);
          });
          const router = new Router({
            adapters: new Map(adapters.map((a) => [a.provider, a])),
            fleet,
            config: {
              ...TEST_CONFIG,
              HEDGE_DELAY_MS: s.hedgeDelay,
              HEDGE_STAGGER_MS: s.stagger,
              HEDGE_BURST: s.burst,
              HEDGE_RATIO: s.ratio,
              PROVIDER_CONCURRENCY_DEFAULT: s.limit,
            },
            logger: silentLogger,
            clock: { now: () => Date.now() },
            tuning: { random: () => 0.5 },
          });
          let primaries = 0;
          let hedges = 0;
          router.onCallStart((e) => {
            if (e.kind === 'primary') primaries++;
            if (e.kind === 'hedge') hedges++;
          });

          const runJob = async (n: number) => {
            const cancel = new AbortController();
            if (s.cancelAtMs !== undefined) setTimeout(() => cancel.abort(), s.cancelAtMs);
            const start = Date.now();
            const outcome = await router
              .route({
                id: `j${n}`,
                candidates: s.candidates,
                request: REQUEST,
                budgetMs: s.budgetMs,
                signal: cancel.signal,
                ...(s.streaming ? { onToken: () => {} } : {}),
              })
              .then(
                (value) => ({ value, error: undefined }),
                (error: unknown) => ({ value: undefined, error }),
              );
            const elapsed = Date.now() - start;
            // Settled: nothing of this router is in flight at any provider... once all jobs end (checked below).
            expect(elapsed).toBeLessThanOrEqual(s.budgetMs);
            if (outcome.error !== undefined) {
              expect(isRouterError(outcome.error)).toBe(true);
              if (isRouterError(outcome.error) && outcome.error.reason !== 'budget') expect(elapsed).toBeLessThanOrEqual(s.budgetMs);
              if (isRouterError(outcome.error) && outcome.error.reason === 'budget') expect(elapsed).toBe(s.budgetMs);
            } else {
              expect(outcome.value?.attempts.some((a) => a.outcome === 'success' && a.provider === outcome.value?.provider)).toBe(true);
            }
            return outcome;
          };

          const all = Promise.all(Array.from({ length: s.jobs }, (_, n) => runJob(n)));
          await vi.runAllTimersAsync();
          const outcomes = await all;

          const calls = adapters.flatMap((a) => a.calls);
          for (const a of adapters) {
            expect(a.inFlight).toBe(0);
            expect(a.maxInFlight).toBeLessThanOrEqual(s.limit);
          }
          const callReports = fleet.reports.filter((r) => !r.message?.startsWith('probe lease unused'));
          const attempts = outcomes.flatMap((o) => (o.value ? o.value.attempts : isRouterError(o.error) ? o.error.attempts : []));
          expect(callReports).toHaveLength(calls.length);
          expect(attempts).toHaveLength(calls.length);
          const abortedCalls = calls.filter((c) => c.abortedAt !== undefined).length;
          expect(callReports.filter((r) => r.outcome === 'aborted')).toHaveLength(abortedCalls);
          expect(attempts.filter((a) => a.outcome === 'aborted')).toHaveLength(abortedCalls);
          expect(hedges).toBeLessThanOrEqual(s.burst + s.ratio * primaries + 1e-9);
          expect(attempts.filter((a) => a.hedge)).toHaveLength(hedges);
          expect(router.stats().activeJobs).toBe(0);
        } finally {
          vi.useRealTimers();
        }
      }),
      { numRuns: 300 },
    );
  });
});
