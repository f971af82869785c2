/**
 * Concurrency gates per deployment (CONTRACT.md, "Routes and deployments"): a deployment's
 * `max_concurrency` caps its calls in flight in one worker process, else PROVIDER_CONCURRENCY for
 * its kind, else PROVIDER_CONCURRENCY_DEFAULT; two deployments of one kind have a gate each, so a
 * capped key never holds back its twin. On fake time.
 */
import { type FleetRuntime, FleetRuntimeSource } from '@switchyard/providers';
import { type FleetConfig, FleetConfigSource, loadConfig, ModelNames, parseFleetConfig } from '@switchyard/shared';
import { describe, expect, it } from 'vitest';
import { concurrencyLimit } from '../../src/fleet-setup.ts';
import { Router } from '../../src/router/index.ts';
import { CandidatePlanner } from '../../src/routing/planner.ts';
import { createStrategies } from '../../src/routing/strategies/index.ts';
import { FakeAdapter, FakeFleet, REQUEST, silentLogger, TEST_CONFIG, untilSettled, useFakeTime } from '../router/fakes.ts';

useFakeTime();

const FILE = `
deployments:
  - { id: openai-capped, provider: openai, api_key: sk-test-capped-00000000, max_concurrency: 2 }
  - { id: openai-free, provider: openai, api_key: sk-test-free-000000000 }
  - { id: local-vllm, provider: openai-compatible, base_url: "http://127.0.0.1:9/v1" }
`;

describe('concurrency gates per deployment', () => {
  it("the limit: the deployment's max_concurrency, else its kind's PROVIDER_CONCURRENCY, else the default", () => {
    const config = loadConfig({ PROVIDER_CONCURRENCY: 'openai=5', PROVIDER_CONCURRENCY_DEFAULT: '9' });
    const initial = parseFleetConfig(FILE, { env: {}, base: config });
    const source = new FleetConfigSource({ config, logger: silentLogger, initial });
    const limit = concurrencyLimit(FleetRuntimeSource.from(source, { defaultTimeoutMs: 1_000, logger: silentLogger }), config);
    expect(['openai-capped', 'openai-free', 'local-vllm'].map(limit)).toEqual([2, 5, 9]);
  });

  it('a capped deployment holds back its own calls only, not another deployment of its kind', async () => {
    const capped = new FakeAdapter('openai', { latencyMs: 60 });
    const free = new FakeAdapter('openai', { latencyMs: 60 });
    const config: FleetConfig = {
      deployments: [
        { id: 'openai-capped', provider: 'openai', maxConcurrency: 2 },
        { id: 'openai-free', provider: 'openai' },
      ],
      routes: [],
      clients: [],
      hash: 'gates',
      source: 'file',
    };
    const runtime: FleetRuntime = {
      config,
      names: new ModelNames(config),
      adapters: new Map([
        ['openai-capped', capped],
        ['openai-free', free],
      ]),
    };
    const router = new Router({
      planner: new CandidatePlanner(() => runtime, createStrategies(), { load: () => undefined, random: () => 0.5 }),
      concurrencyLimit: (d) => runtime.names.deployment(d)?.maxConcurrency ?? 64,
      fleet: new FakeFleet(),
      config: { ...TEST_CONFIG, HEDGE_DELAY_MS: 10_000 },
      logger: silentLogger,
      tuning: { random: () => 0.5 },
    });
    const jobs = ['openai-capped/m', 'openai-free/m'].flatMap((ref) =>
      Array.from({ length: 6 }, (_, i) => router.route({ id: `${ref}-${i}`, candidates: [ref], request: REQUEST })),
    );
    const results = await untilSettled(Promise.all(jobs));
    expect(results.map((r) => r.deployment)).toEqual([...Array(6).fill('openai-capped'), ...Array(6).fill('openai-free')]);
    expect(capped.maxInFlight).toBe(2);
    expect(free.maxInFlight).toBe(6);
    expect(router.stats().gates).toEqual({
      'openai-capped': { limit: 2, inFlight: 0, waiting: 0 },
      'openai-free': { limit: 64, inFlight: 0, waiting: 0 },
    });
  });
});
