/**
 * Usage counting at job end (usage-reporter.ts) on a real Redis: a completed job's cost is in its
 * client's spend (which budgets read) when completed() resolves; its tokens and cost land in the
 * usage store under its client, route, deployment and model within a flush, summed per combination
 * and minute; a store that fails or is slow never throws into the job's path, and writes past the
 * bound are dropped and counted.
 */
import { createLogger, type JobResult, loadConfig, type QueuedJobData } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { createStateStore, type UsageRecord } from '@switchyard/state';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageReporter } from '../src/usage-reporter.ts';

const logger = createLogger({ name: 'usage-test', level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const DATA: QueuedJobData = {
  request: { messages: [{ role: 'user', content: 'hi' }] },
  model: 'gpt-4o',
  budget_ms: 30_000,
  submitted_at: Date.now(),
  stream: false,
  client: 'team-a',
};

const RESULT: JobResult = {
  provider: 'openai',
  deployment: 'openai-main',
  route: 'gpt-4o',
  model: 'gpt-4o-2024-08-06',
  content: 'hello',
  finish_reason: 'stop',
  usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, cost_usd: 0.00033 },
  latency_ms: 5,
  attempts: [],
};

describe('UsageReporter', () => {
  it("counts a completed job under its client, route, deployment and model, and in the client's spend", async () => {
    const namespace = testNamespace('usage-rep');
    const redis = new Redis(testRedisUrl());
    const store = createStateStore(redis, loadConfig({ REDIS_URL: testRedisUrl(), SWITCHYARD_NAMESPACE: namespace }), logger);
    cleanups.push(async () => {
      await store.close();
      redis.disconnect();
      await deleteNamespace(testRedisUrl(), namespace);
    });
    const reporter = new UsageReporter(store.usage, logger);
    await reporter.completed('job-1', DATA, RESULT);
    // Once completed() resolves the spend is counted: a budget check right after sees it.
    expect(await store.usage.checkBudget('team-a', { dailyUsd: 0.00033 })).toMatchObject({ allowed: false, period: 'day' });
    void reporter.completed(
      'job-2',
      { ...DATA, client: undefined },
      { ...RESULT, route: undefined, usage: { ...RESULT.usage, cost_usd: undefined } },
    );
    expect(await reporter.drain(5_000)).toBe(true);

    const byClient = await store.usage.readDays(1, { groupBy: 'client' });
    expect(byClient.totals).toEqual([
      { key: 'team-a', requests: 1, prompt_tokens: 12, completion_tokens: 30, cost_usd: 0.00033 },
      { key: 'anonymous', requests: 1, prompt_tokens: 12, completion_tokens: 30, cost_usd: 0 },
    ]);
    const byModel = await store.usage.readDays(1, { groupBy: 'model', client: 'team-a' });
    expect(byModel.totals.map((r) => r.key)).toEqual(['gpt-4o-2024-08-06']);
    expect(await store.usage.checkBudget('team-a', { dailyUsd: 0.00033 })).toMatchObject({ allowed: false, period: 'day' });
    expect(await store.usage.checkBudget('team-a', { dailyUsd: 0.00034 })).toEqual({ allowed: true });
  });

  it('sums the jobs of a flush: one usage write per combination and minute, not one per job', async () => {
    const counted: UsageRecord[] = [];
    const spends: number[] = [];
    const sink = {
      countUsage: async (r: UsageRecord) => void counted.push(r),
      addSpend: async (_client: string, micros: number) => void spends.push(micros),
    };
    const reporter = new UsageReporter(sink, logger, { flushMs: 60_000 });
    for (let i = 0; i < 50; i++) await reporter.completed(`a${i}`, DATA, RESULT);
    for (let i = 0; i < 20; i++) {
      await reporter.completed(`b${i}`, { ...DATA, client: 'team-b' }, { ...RESULT, usage: { ...RESULT.usage, cost_usd: undefined } });
    }
    // Spend is written per job and at once; usage waits for the flush.
    expect(spends).toHaveLength(50);
    expect(counted).toEqual([]);
    expect(await reporter.drain(2_000)).toBe(true);
    const byClient = Object.fromEntries(counted.map((r) => [r.client, r]));
    expect(counted).toHaveLength(2);
    expect(byClient['team-a']).toMatchObject({ requests: 50, promptTokens: 50 * 12, completionTokens: 50 * 30, costMicros: 50 * 330 });
    expect(byClient['team-b']).toMatchObject({ requests: 20, promptTokens: 20 * 12, completionTokens: 20 * 30, costMicros: undefined });
  });

  it('writes summed usage on its own after flushMs', async () => {
    const counted: UsageRecord[] = [];
    const reporter = new UsageReporter({ countUsage: async (r) => void counted.push(r), addSpend: async () => {} }, logger, {
      flushMs: 20,
    });
    await reporter.completed('j', DATA, RESULT);
    await waitFor(() => (counted.length === 1 ? true : null), 'the timed flush', 2_000, 5);
    expect(counted[0]).toMatchObject({ client: 'team-a', requests: 1 });
  });

  it('a failing store is logged and counted, never thrown; past the bound writes are dropped', async () => {
    const never: Array<() => void> = [];
    const failing = {
      countUsage: async (_r: UsageRecord) => Promise.reject(new Error('Connection is closed.')),
      addSpend: async () => Promise.reject(new Error('Connection is closed.')),
    };
    const reporter = new UsageReporter(failing, logger, { maxPending: 2 });
    await expect(reporter.completed('j', DATA, RESULT)).resolves.toBeUndefined();
    await waitFor(() => (reporter.stats.failed === 1 ? true : null), 'the spend failure counted', 2_000, 5);
    expect(await reporter.drain(2_000)).toBe(true);
    expect(reporter.stats.failed).toBe(2);

    const stuck = {
      countUsage: (_r: UsageRecord) => new Promise<void>((resolve) => never.push(resolve)),
      addSpend: () => new Promise<void>((resolve) => never.push(resolve)),
    };
    const bounded = new UsageReporter(stuck, logger, { maxPending: 2, settleMs: 50, flushMs: 60_000 });
    // A store that does not answer holds the job no longer than settleMs.
    await bounded.completed('j0', DATA, RESULT);
    for (let i = 1; i < 5; i++) void bounded.completed(`j${i}`, DATA, RESULT);
    expect(bounded.stats).toEqual({ pending: 2, waiting: 1, dropped: 3, failed: 0 });
    for (const resolve of never.splice(0)) resolve();
    await waitFor(() => (bounded.stats.pending === 0 ? true : null), 'the spend writes settled', 2_000, 5);
    // The flush's usage write waits on the stuck store too.
    const drained = bounded.drain(2_000);
    await waitFor(() => (never.length === 1 ? true : null), 'the usage write', 2_000, 5);
    for (const resolve of never) resolve();
    expect(await drained).toBe(true);
    expect(bounded.stats).toMatchObject({ pending: 0, waiting: 0 });
  });
});
