/**
 * The budget gate (usage/budget-gate.ts) on a real Redis: the requests of one client that arrive in
 * the same event-loop turn share one budget script, read after all of them arrived (so a spend
 * recorded before the turn ends is seen by every one of them); other clients are checked apart.
 */
import { createLogger, loadConfig } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
import { createStateStore, type StateStore } from '@switchyard/state';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetGate } from '../src/usage/budget-gate.ts';

const namespace = testNamespace('budget-gate');
let redis: Redis;
let state: StateStore;

beforeAll(() => {
  redis = new Redis(testRedisUrl());
  state = createStateStore(
    redis,
    loadConfig({ REDIS_URL: testRedisUrl(), SWITCHYARD_NAMESPACE: namespace }),
    createLogger({ name: 't', level: 'silent' }),
  );
});
afterAll(async () => {
  await state.close();
  redis.disconnect();
  await deleteNamespace(testRedisUrl(), namespace);
});

/** The real store, counting the scripts it runs. */
function counted() {
  const calls: string[] = [];
  return {
    calls,
    checkBudget: (client: string, limits: Parameters<StateStore['usage']['checkBudget']>[1]) => {
      calls.push(client);
      return state.usage.checkBudget(client, limits);
    },
  };
}

const spend = (client: string, micros: number) =>
  state.usage.record({ client, deployment: 'd', model: 'm', promptTokens: 1, completionTokens: 1, costMicros: micros, at: Date.now() });

describe('BudgetGate', () => {
  it("one script for a turn's requests of a client, read after all of them arrived", async () => {
    const store = counted();
    const gate = new BudgetGate(store);
    const limits = { dailyUsd: 0.001 };
    const first = Array.from({ length: 20 }, () => gate.check('gate-a', limits));
    const other = gate.check('gate-b', limits);
    // Written before the batch's script goes out (same connection, in order): every request of the batch sees it.
    await spend('gate-a', 1_000);
    const verdicts = await Promise.all(first);
    expect(store.calls.sort()).toEqual(['gate-a', 'gate-b']);
    expect(new Set(verdicts.map((v) => v.allowed))).toEqual(new Set([false]));
    expect(await other).toEqual({ allowed: true });
    // The next turn asks again.
    expect((await gate.check('gate-b', limits)).allowed).toBe(true);
    expect(store.calls).toHaveLength(3);
  });

  it('a failed script fails every request of its batch (the errors plugin answers 503)', async () => {
    const gate = new BudgetGate({ checkBudget: () => Promise.reject(new Error('Connection is closed.')) });
    const results = await Promise.allSettled([gate.check('x', { dailyUsd: 1 }), gate.check('x', { dailyUsd: 1 })]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
