/**
 * Usage counting at job end (usage-reporter.ts) on a real Redis: a completed job's tokens and cost
 * land in the usage store under its client, route, deployment and model (and in the client's spend,
 * which budgets read); a store that fails or is slow never throws into the job's path, and writes
 * past the bound are dropped and counted.
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

  it('a failing store is logged and counted, never thrown; past the bound writes are dropped', async () => {
    const never: Array<() => void> = [];
    const failing = { record: async (_r: UsageRecord) => Promise.reject(new Error('Connection is closed.')) };
    const reporter = new UsageReporter(failing, logger, 2);
    await expect(reporter.completed('j', DATA, RESULT)).resolves.toBeUndefined();
    await waitFor(() => (reporter.stats.failed === 1 ? true : null), 'the failure counted', 2_000, 5);

    const stuck = { record: (_r: UsageRecord) => new Promise<void>((resolve) => never.push(resolve)) };
    const bounded = new UsageReporter(stuck, logger, 2, 50);
    // A store that does not answer holds the job no longer than settleMs.
    await bounded.completed('j0', DATA, RESULT);
    for (let i = 1; i < 5; i++) void bounded.completed(`j${i}`, DATA, RESULT);
    expect(bounded.stats).toEqual({ pending: 2, dropped: 3, failed: 0 });
    for (const resolve of never) resolve();
    expect(await bounded.drain(2_000)).toBe(true);
    expect(bounded.stats.pending).toBe(0);
  });
});
