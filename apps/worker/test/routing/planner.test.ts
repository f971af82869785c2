/**
 * Routes over deployments in the router (CONTRACT.md "Routes and deployments"): a route's
 * strategy picks the first target, the others follow as fallbacks, then the route's fallbacks and
 * the job's own. Weighted routes land within a few percent of their weights; the latency strategy
 * sends most traffic to the faster deployment and keeps sampling the slower; a dead deployment's
 * breaker takes out that deployment only.
 */
import type { FleetRuntime } from '@switchyard/providers';
import { type DeploymentConfig, type FleetConfig, ModelNames, type Price, type RouteConfig } from '@switchyard/shared';
import type { DeploymentLoad } from '@switchyard/state';
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/router/index.ts';
import { CandidatePlanner } from '../../src/routing/planner.ts';
import { createStrategies } from '../../src/routing/strategies/index.ts';
import { FakeAdapter, FakeFleet, REQUEST, silentLogger, TEST_CONFIG, untilSettled, useFakeTime } from '../router/fakes.ts';

/** Deterministic uniform [0, 1) (mulberry32): the weighted counts below are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function runtimeOf(deployments: Record<string, FakeAdapter>, routes: RouteConfig[], prices: Record<string, Price> = {}): FleetRuntime {
  const config: FleetConfig = {
    deployments: Object.entries(deployments).map(
      ([id, a]): DeploymentConfig => ({ id, provider: a.provider, ...(prices[id] ? { price: prices[id] } : {}) }),
    ),
    routes,
    clients: [],
    hash: 'test',
    source: 'file',
  };
  return { config, names: new ModelNames(config), adapters: new Map(Object.entries(deployments)) };
}

function route(name: string, targets: Array<[string, string, number?]>, more: Partial<RouteConfig> = {}): RouteConfig {
  return {
    name,
    strategy: 'ordered',
    targets: targets.map(([deployment, model, weight]) => ({ deployment, model, weight: weight ?? 1 })),
    fallbacks: [],
    ...more,
  };
}

function makeRouter(
  runtime: FleetRuntime,
  options: { random?: () => number; load?: (id: string) => DeploymentLoad | undefined; fleet?: FakeFleet } = {},
) {
  const random = options.random ?? seeded(7);
  const planner = new CandidatePlanner(() => runtime, createStrategies(), { load: options.load ?? (() => undefined), random });
  const fleet = options.fleet ?? new FakeFleet();
  const router = new Router({ planner, fleet, config: TEST_CONFIG, logger: silentLogger, tuning: { random: () => 0.5 } });
  return { router, fleet, planner };
}

describe('route plans', () => {
  it('expand a route, its fallback routes and the job’s fallbacks in order, each deployment/model once, loops cut', () => {
    const a = new FakeAdapter('openai');
    const runtime = runtimeOf({ 'openai-main': a, 'openai-backup': a, 'local-vllm': a }, [
      route(
        'gpt-4o',
        [
          ['openai-main', 'gpt-4o'],
          ['openai-backup', 'gpt-4o'],
        ],
        { fallbacks: ['cheap'] },
      ),
      route(
        'cheap',
        [
          ['local-vllm', 'llama'],
          ['openai-main', 'gpt-4o'],
        ],
        { fallbacks: ['gpt-4o'] },
      ),
    ]);
    const { planner } = makeRouter(runtime);
    const plan = planner.plan(['gpt-4o', 'openai-backup/gpt-4o-mini', 'nowhere/x'], () => true);
    expect(plan.candidates.map((c) => [c.ref, c.route, c.adapter !== undefined])).toEqual([
      ['openai-main/gpt-4o', 'gpt-4o', true],
      ['openai-backup/gpt-4o', 'gpt-4o', true],
      ['local-vllm/llama', 'cheap', true],
      ['openai-backup/gpt-4o-mini', undefined, true],
      ['nowhere/x', undefined, false],
    ]);
    expect(plan.configHash).toBe('test');
  });

  it('put the targets this process knows to be down after the others, whatever the strategy', () => {
    const a = new FakeAdapter('openai');
    const runtime = runtimeOf({ one: a, two: a }, [
      route('r', [
        ['one', 'm'],
        ['two', 'm'],
      ]),
    ]);
    const { planner } = makeRouter(runtime);
    expect(planner.plan(['r'], (d) => d !== 'one').candidates.map((c) => c.deployment)).toEqual(['two', 'one']);
  });

  it('carry the route’s hedge timing', () => {
    const a = new FakeAdapter('openai');
    const runtime = runtimeOf({ one: a }, [route('r', [['one', 'm']], { hedgeDelayMs: 50, hedgeStaggerMs: 20 })]);
    expect(makeRouter(runtime).planner.plan(['r'], () => true)).toMatchObject({ hedgeDelayMs: 50, hedgeStaggerMs: 20 });
  });
});

describe('prices on candidates (usage and spend)', () => {
  const TARGET: Price = { inputPerMtok: 1_000, outputPerMtok: 2_000 };
  const DEPLOYMENT: Price = { inputPerMtok: 10, outputPerMtok: 20 };

  it("a target's price wins over its deployment's; a deployment/model ref takes the deployment's", () => {
    const a = new FakeAdapter('openai');
    const r = route('r', [
      ['priced', 'm'],
      ['plain', 'm'],
    ]);
    (r.targets[0] as { price?: Price }).price = TARGET;
    const runtime = runtimeOf({ priced: a, plain: a }, [r], { priced: DEPLOYMENT, plain: DEPLOYMENT });
    const plan = makeRouter(runtime).planner.plan(['r', 'plain/other', 'nowhere/x'], () => true);
    expect(plan.candidates.map((c) => [c.ref, c.price])).toEqual([
      ['priced/m', TARGET],
      ['plain/m', DEPLOYMENT],
      ['plain/other', DEPLOYMENT],
      ['nowhere/x', undefined],
    ]);
  });

  it("the job's result carries cost_usd from the winner's price, and none without a price", async () => {
    const a = new FakeAdapter('openai');
    const r = route('r', [['priced', 'm']]);
    (r.targets[0] as { price?: Price }).price = TARGET;
    const runtime = runtimeOf({ priced: a, plain: a }, [r, route('free', [['plain', 'm']])]);
    const { router } = makeRouter(runtime);
    const priced = await router.route({ id: 'j1', candidates: ['r'], request: REQUEST });
    // The fake answers 3 prompt and 5 completion tokens: 3 x $1000/M + 5 x $2000/M = $0.013.
    expect(priced.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8, cost_usd: 0.013 });
    const free = await router.route({ id: 'j2', candidates: ['free'], request: REQUEST });
    expect(free.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
  });
});

describe('strategies through the router', () => {
  it('weighted: 400 jobs land within a few percent of 3:1', async () => {
    const main = new FakeAdapter('openai', { latencyMs: 0 });
    const backup = new FakeAdapter('openai', { latencyMs: 0 });
    const runtime = runtimeOf({ main, backup }, [
      route(
        'gpt-4o',
        [
          ['main', 'gpt-4o', 3],
          ['backup', 'gpt-4o', 1],
        ],
        { strategy: 'weighted' },
      ),
    ]);
    const { router } = makeRouter(runtime);
    for (let i = 0; i < 400; i++) {
      const result = await router.route({ id: `w${i}`, candidates: ['gpt-4o'], request: REQUEST });
      expect(result.route).toBe('gpt-4o');
    }
    expect(main.calls.length + backup.calls.length).toBe(400);
    expect(main.calls.length / 400).toBeGreaterThan(0.7);
    expect(main.calls.length / 400).toBeLessThan(0.8);
  });

  describe('latency, on fake time', () => {
    // The latencies it learns are the calls' own (1 ms and 30 ms), not what a busy machine added:
    // on real timers, one early call of the fast deployment held up past 30 ms ranks it the slower
    // until the 10% exploration has measured it a few more times, tens of jobs later.
    useFakeTime();

    it('latency: most traffic to the faster deployment, the slower still sampled', async () => {
      const fast = new FakeAdapter('openai', { latencyMs: 1 });
      const slow = new FakeAdapter('openai', { latencyMs: 30 });
      const runtime = runtimeOf({ fast, slow }, [
        route(
          'r',
          [
            ['slow', 'm'],
            ['fast', 'm'],
          ],
          { strategy: 'latency' },
        ),
      ]);
      // The figures the fleet would hold: each deployment's mean latency over its successes.
      const seen = new Map<string, { sum: number; n: number }>();
      const load = (id: string): DeploymentLoad | undefined => {
        const s = seen.get(id);
        return s ? { inFlight: 0, latencyMs: s.sum / s.n, samples: s.n } : undefined;
      };
      const { router } = makeRouter(runtime, { load });
      router.onCallEnd(({ attempt }) => {
        if (attempt.outcome !== 'success' || !attempt.deployment) return;
        const s = seen.get(attempt.deployment) ?? { sum: 0, n: 0 };
        seen.set(attempt.deployment, { sum: s.sum + attempt.latency_ms, n: s.n + 1 });
      });
      for (let i = 0; i < 100; i++) await untilSettled(router.route({ id: `l${i}`, candidates: ['r'], request: REQUEST }));
      // About 90% once both are measured (the strategy explores 10%); the slower is called now and then.
      expect(fast.calls.length).toBeGreaterThan(75);
      expect(slow.calls.length).toBeGreaterThanOrEqual(3);
    });
  });

  it('least-busy: the deployment with fewer calls in flight across the fleet goes first', () => {
    const a = new FakeAdapter('openai');
    const runtime = runtimeOf({ busy: a, idle: a }, [
      route(
        'r',
        [
          ['busy', 'm'],
          ['idle', 'm'],
        ],
        { strategy: 'least-busy' },
      ),
    ]);
    const load = (id: string): DeploymentLoad => ({ inFlight: id === 'busy' ? 12 : 3, latencyMs: null, samples: 0 });
    const { planner } = makeRouter(runtime, { load });
    for (let i = 0; i < 20; i++) expect(planner.plan(['r'], () => true).candidates[0]?.deployment).toBe('idle');
  });

  it('a dead key behind a route opens its own circuit; every job succeeds through the other deployment', async () => {
    const dead = new FakeAdapter('openai', { fail: 'api_key_invalid', latencyMs: 1 });
    const live = new FakeAdapter('openai', { latencyMs: 1 });
    const runtime = runtimeOf({ 'openai-main': dead, 'openai-backup': live }, [
      route('gpt-4o', [
        ['openai-main', 'gpt-4o'],
        ['openai-backup', 'gpt-4o'],
      ]),
    ]);
    const fleet = new FakeFleet(3);
    const { router } = makeRouter(runtime, { fleet });
    for (let i = 0; i < 30; i++) {
      const result = await router.route({ id: `d${i}`, candidates: ['gpt-4o'], request: REQUEST });
      expect(result).toMatchObject({ deployment: 'openai-backup', provider: 'openai', route: 'gpt-4o' });
    }
    expect(dead.calls.length).toBe(3);
    expect(fleet.circuit('openai-main')).toBe('open');
    expect(fleet.circuit('openai-backup')).toBe('closed');
  });
});
