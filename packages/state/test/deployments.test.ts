/**
 * Health per deployment (DESIGN.md section 7): two deployments of one vendor keep separate
 * breakers, cooldowns, state and metrics; status and metrics name each by id with its provider
 * kind; a config reload swaps the list at once, and a removed deployment's metrics still show.
 */
import { waitFor } from '@switchyard/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { failure, setup, type TestContext } from './helpers.ts';

/** How long another process's state event may take to reach this one's provider view (pub/sub). */
const EVENT_DEADLINE_MS = 10_000;

let t: TestContext;
afterEach(async () => {
  await t?.cleanup();
});

const TWO_KEYS = [
  { name: 'openai-main', kind: 'openai' as const },
  { name: 'openai-backup', kind: 'openai' as const },
];

describe('health per deployment', () => {
  it('a dead key opens its own circuit; the same vendor’s other deployment keeps admitting', async () => {
    t = await setup('dep1', { CIRCUIT_FAILURE_THRESHOLD: 3, providers: TWO_KEYS });
    const other = t.makeStore();
    for (let i = 0; i < 3; i++) await other.report(failure('openai-main', 'api_key_invalid', { message: '401 invalid key' }));
    expect(await t.store.admit('openai-main')).toMatchObject({ admitted: false, reason: 'circuit_open' });
    expect(await t.store.admit('openai-backup')).toEqual({ admitted: true });
    await other.report(failure('openai-backup', 'rate_limited', { retryAfterMs: 5_000 }));
    // This process admitted openai-backup from memory a moment ago; the cooldown started by the
    // other one reaches its view by pub/sub, not in the same instant.
    await waitFor(
      async () => ((await t.store.admit('openai-backup')).admitted === false ? true : null),
      'openai-backup denied',
      EVENT_DEADLINE_MS,
      5,
    );
    expect(await t.store.admit('openai-backup')).toMatchObject({ admitted: false, reason: 'cooldown' });

    const statuses = await t.store.getStatus({ memo: false });
    expect(statuses.map((s) => [s.deployment, s.provider, s.state, s.circuit.state])).toEqual([
      ['openai-main', 'openai', 'api_key_invalid', 'open'],
      ['openai-backup', 'openai', 'rate_limited', 'closed'],
    ]);
  });

  it('metrics are kept per deployment, and a deployment removed by a reload still shows its figures', async () => {
    t = await setup('dep2', { providers: TWO_KEYS });
    await t.store.report(failure('openai-main', 'success', { latencyMs: 12 }));
    await t.store.report(failure('openai-backup', 'timeout'));
    await t.store.flush();
    const before = await t.store.readDailyMetrics(1);
    expect(before.totals.map((m) => [m.deployment, m.provider, m.total, m.success])).toEqual([
      ['openai-main', 'openai', 1, 1],
      ['openai-backup', 'openai', 1, 0],
    ]);

    t.store.deployments.set([{ name: 'local-vllm', kind: 'openai-compatible' }]);
    expect((await t.store.getStatus({ memo: false })).map((s) => [s.deployment, s.provider])).toEqual([
      ['local-vllm', 'openai-compatible'],
    ]);
    // Another process started after the reload reads what every process ever configured.
    const after = await t.makeStore({ providers: [{ name: 'local-vllm', kind: 'openai-compatible' }] }).readCounters();
    expect(after.providers.map((p) => [p.deployment, p.provider, p.enabled, p.calls_total])).toEqual([
      ['local-vllm', 'openai-compatible', true, 0],
      ['openai-backup', 'openai', false, 1],
      ['openai-main', 'openai', false, 1],
    ]);
  });
});
