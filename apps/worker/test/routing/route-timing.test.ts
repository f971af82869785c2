/**
 * A route's own `hedge_delay_ms` and `hedge_stagger_ms` (CONTRACT.md, "Routes and deployments")
 * reach the hedger for the jobs of that route only: the same targets behind a route without them
 * hedge on the process's HEDGE_DELAY_MS and HEDGE_STAGGER_MS. On fake time, so every start is exact.
 */
import type { FleetRuntime } from '@switchyard/providers';
import { type FleetConfig, ModelNames, type RouteConfig } from '@switchyard/shared';
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/router/index.ts';
import { CandidatePlanner } from '../../src/routing/planner.ts';
import { createStrategies } from '../../src/routing/strategies/index.ts';
import { FakeAdapter, FakeFleet, REQUEST, silentLogger, TEST_CONFIG, untilSettled, useFakeTime } from '../router/fakes.ts';

useFakeTime();

const TARGETS = [
  { deployment: 'slow-a', model: 'm', weight: 1 },
  { deployment: 'slow-b', model: 'm', weight: 1 },
  { deployment: 'fast', model: 'm', weight: 1 },
];

function setUp() {
  const adapters = {
    'slow-a': new FakeAdapter('openai', { latencyMs: 5_000 }),
    'slow-b': new FakeAdapter('openai', { latencyMs: 5_000 }),
    fast: new FakeAdapter('openai', { latencyMs: 10 }),
  };
  const routes: RouteConfig[] = [
    { name: 'quick', strategy: 'ordered', targets: TARGETS, fallbacks: [], hedgeDelayMs: 40, hedgeStaggerMs: 15 },
    { name: 'plain', strategy: 'ordered', targets: TARGETS, fallbacks: [] },
  ];
  const config: FleetConfig = {
    deployments: Object.keys(adapters).map((id) => ({ id, provider: 'openai' as const })),
    routes,
    clients: [],
    hash: 'timing',
    source: 'file',
  };
  const runtime: FleetRuntime = { config, names: new ModelNames(config), adapters: new Map(Object.entries(adapters)) };
  const planner = new CandidatePlanner(() => runtime, createStrategies(), { load: () => undefined, random: () => 0.5 });
  const router = new Router({
    planner,
    fleet: new FakeFleet(),
    config: { ...TEST_CONFIG, HEDGE_DELAY_MS: 200, HEDGE_STAGGER_MS: 100 },
    logger: silentLogger,
    tuning: { random: () => 0.5 },
  });
  return { router };
}

describe("a route's hedge timing", () => {
  it('replaces the process default for that route’s jobs only', async () => {
    const { router } = setUp();
    const quick = await untilSettled(router.route({ id: 'q', candidates: ['quick'], request: REQUEST }));
    // The route's hedge delay, then its stagger: 0, 40, 40 + 15.
    expect(quick.attempts.map((a) => [a.deployment, a.started_ms])).toEqual([
      ['slow-a', 0],
      ['slow-b', 40],
      ['fast', 55],
    ]);
    expect(quick).toMatchObject({ route: 'quick', deployment: 'fast' });

    const plain = await untilSettled(router.route({ id: 'p', candidates: ['plain'], request: REQUEST }));
    // The same targets behind a route without its own timing: HEDGE_DELAY_MS 200, HEDGE_STAGGER_MS 100.
    expect(plain.attempts.map((a) => [a.deployment, a.started_ms])).toEqual([
      ['slow-a', 0],
      ['slow-b', 200],
      ['fast', 300],
    ]);
  });
});
