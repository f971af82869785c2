/**
 * Usage and spend in Redis (usage.ts): what finished jobs used, read back per day and grouped by
 * client, route, deployment or model (a client's own slice too), the last minutes for the
 * dashboard, lifetime totals for Prometheus, expiry of every key, and the budget check: one atomic
 * step against a client's day and month spend, with the reset it waits for.
 */
import { clearOfDayBoundary } from '@switchyard/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { budgetResets, epochMinute, type UsageRecord, usageToPrometheus, utcDate, utcMonth } from '../src/index.ts';
import { setup, type TestContext } from './helpers.ts';

let t: TestContext;
afterEach(async () => {
  await t?.cleanup();
});

const DAY = 86_400_000;

function job(over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    client: 'team-a',
    route: 'gpt-4o',
    deployment: 'openai-main',
    model: 'gpt-4o',
    promptTokens: 100,
    completionTokens: 50,
    costMicros: 750,
    at: Date.now(),
    ...over,
  };
}

describe('usage store', () => {
  it('reads each day and key back, grouped any way, with totals; a client sees its own slice', async () => {
    t = await setup('usage-read');
    // Written and read back by today's date (and month): all of it in one day.
    await clearOfDayBoundary();
    const { usage } = t.store;
    const now = Date.now();
    await usage.record(job());
    await usage.record(job({ deployment: 'openai-backup', costMicros: 1_250 }));
    await usage.record(job({ client: 'team-b', route: undefined, deployment: 'local-vllm', model: 'llama', costMicros: undefined }));
    await usage.record(job({ at: now - DAY, promptTokens: 10, completionTokens: 5, costMicros: 75 }));

    const byClient = await usage.readDays(7, { groupBy: 'client' });
    expect(byClient).toMatchObject({ days: 7, from: utcDate(now - 6 * DAY), to: utcDate(now) });
    expect(byClient.rows).toEqual([
      { date: utcDate(now - DAY), key: 'team-a', requests: 1, prompt_tokens: 10, completion_tokens: 5, cost_usd: 0.000075 },
      { date: utcDate(now), key: 'team-a', requests: 2, prompt_tokens: 200, completion_tokens: 100, cost_usd: 0.002 },
      { date: utcDate(now), key: 'team-b', requests: 1, prompt_tokens: 100, completion_tokens: 50, cost_usd: 0 },
    ]);
    expect(byClient.totals).toEqual([
      { key: 'team-a', requests: 3, prompt_tokens: 210, completion_tokens: 105, cost_usd: 0.002075 },
      { key: 'team-b', requests: 1, prompt_tokens: 100, completion_tokens: 50, cost_usd: 0 },
    ]);

    const byDeployment = await usage.readDays(1, { groupBy: 'deployment' });
    expect(byDeployment.rows.map((r) => [r.key, r.requests, r.cost_usd])).toEqual([
      ['local-vllm', 1, 0],
      ['openai-backup', 1, 0.00125],
      ['openai-main', 1, 0.00075],
    ]);
    const byRoute = await usage.readDays(1, { groupBy: 'route' });
    expect(byRoute.totals.map((r) => [r.key, r.requests])).toEqual([
      ['gpt-4o', 2],
      ['-', 1],
    ]);
    const teamBModels = await usage.readDays(30, { groupBy: 'model', client: 'team-b' });
    expect(teamBModels.totals).toEqual([{ key: 'llama', requests: 1, prompt_tokens: 100, completion_tokens: 50, cost_usd: 0 }]);
    expect(teamBModels.days).toBe(30);
  });

  it('keeps days 30 days, minutes two hours, spend a day past its period', async () => {
    t = await setup('usage-ttl');
    const { usage, keys } = t.store;
    const at = Date.now();
    await usage.record(job({ at }));
    const date = utcDate(at);
    const resets = budgetResets(at);
    const expiry = async (key: string) => Number(await t.redis.pexpiretime(key));
    expect(await expiry(keys.usageDay(date))).toBe(Date.parse(`${date}T00:00:00Z`) + 31 * DAY);
    expect(await expiry(keys.usageMinute(epochMinute(at)))).toBe((epochMinute(at) + 1) * 60_000 + 2 * 3_600_000);
    expect(await expiry(keys.spendDay('team-a', date))).toBe(resets.day + DAY);
    expect(await expiry(keys.spendMonth('team-a', utcMonth(at)))).toBe(resets.month + DAY);
    expect(await t.redis.pttl(keys.usageTotal())).toBe(-1);
  });

  it('the last minutes, per key, for the dashboard', async () => {
    t = await setup('usage-recent');
    const { usage } = t.store;
    const now = Date.now();
    await usage.record(job({ at: now }));
    await usage.record(job({ at: now - 30 * 60_000, client: 'team-b' }));
    await usage.record(job({ at: now - 90 * 60_000, client: 'team-c' }));
    const hour = await usage.readRecent(60, { groupBy: 'client' });
    expect(hour.map((r) => r.key).sort()).toEqual(['team-a', 'team-b']);
  });

  it('lifetime jobs, tokens and cost per deployment and route, in Prometheus form', async () => {
    t = await setup('usage-prom');
    const { usage } = t.store;
    await usage.record(job());
    await usage.record(job({ client: 'team-b' }));
    await usage.record(job({ route: undefined, deployment: 'local-vllm', costMicros: 2_500_000 }));
    const counters = await usage.readCounters();
    expect(counters).toEqual([
      { deployment: 'local-vllm', route: '-', requests: 1, prompt_tokens: 100, completion_tokens: 50, cost_usd: 2.5 },
      { deployment: 'openai-main', route: 'gpt-4o', requests: 2, prompt_tokens: 200, completion_tokens: 100, cost_usd: 0.0015 },
    ]);
    const text = usageToPrometheus(counters);
    expect(text).toContain('switchyard_jobs_total{deployment="openai-main",route="gpt-4o"} 2');
    expect(text).toContain('switchyard_jobs_total{deployment="local-vllm",route="-"} 1');
    expect(text).toContain('switchyard_tokens_total{deployment="openai-main",route="gpt-4o",kind="prompt"} 200');
    expect(text).toContain('switchyard_tokens_total{deployment="openai-main",route="gpt-4o",kind="completion"} 100');
    expect(text).toContain('switchyard_cost_usd_total{deployment="local-vllm",route="-"} 2.5');
    expect(text).not.toContain('team-');
  });

  it('a malformed field is skipped, never thrown', async () => {
    t = await setup('usage-bad');
    // Written and read back by today's date (and month): all of it in one day.
    await clearOfDayBoundary();
    const { usage, keys } = t.store;
    await usage.record(job());
    await t.redis.hset(keys.usageDay(utcDate(Date.now())), 'not json|r', '3', '["x","-","d","m"]|r', 'NaN', '["x"]|q', '1');
    const report = await usage.readDays(1, { groupBy: 'client' });
    expect(report.totals).toEqual([{ key: 'team-a', requests: 1, prompt_tokens: 100, completion_tokens: 50, cost_usd: 0.00075 }]);
  });
});

describe('budget check', () => {
  it('allows until the day cap is reached, then names the day and its UTC reset', async () => {
    t = await setup('budget-day');
    // Written and read back by today's date (and month): all of it in one day.
    await clearOfDayBoundary();
    const { usage } = t.store;
    const limits = { dailyUsd: 0.002, monthlyUsd: 1 };
    expect(await usage.checkBudget('team-a', limits)).toEqual({ allowed: true });
    await usage.record(job({ costMicros: 1_999 }));
    expect(await usage.checkBudget('team-a', limits)).toEqual({ allowed: true });
    await usage.record(job({ costMicros: 1 }));
    const now = Date.now();
    expect(await usage.checkBudget('team-a', limits)).toEqual({
      allowed: false,
      period: 'day',
      spentUsd: 0.002,
      limitUsd: 0.002,
      resetAt: budgetResets(now).day,
    });
    // Another client's spend is its own.
    expect(await usage.checkBudget('team-b', limits)).toEqual({ allowed: true });
  });

  it('the month is checked first: its reset is the later one', async () => {
    t = await setup('budget-month');
    // Written and read back by today's date (and month): all of it in one day.
    await clearOfDayBoundary();
    const { usage } = t.store;
    await usage.record(job({ costMicros: 5_000 }));
    const verdict = await usage.checkBudget('team-a', { dailyUsd: 0.001, monthlyUsd: 0.004 });
    expect(verdict).toMatchObject({ allowed: false, period: 'month', spentUsd: 0.005, limitUsd: 0.004 });
    expect(verdict.allowed === false && verdict.resetAt).toBe(budgetResets(Date.now()).month);
  });

  it('yesterday and last month do not count against today', async () => {
    t = await setup('budget-reset');
    const { usage, keys } = t.store;
    const now = Date.now();
    await t.redis.set(keys.spendDay('team-a', utcDate(now - DAY)), 9_000_000);
    await t.redis.set(keys.spendMonth('team-a', utcMonth(now - 40 * DAY)), 9_000_000);
    expect(await usage.checkBudget('team-a', { dailyUsd: 1, monthlyUsd: 1 })).toEqual({ allowed: true });
  });

  it('resets are the next UTC midnight and the first of the next UTC month', () => {
    const at = Date.UTC(2026, 11, 31, 23, 59, 30);
    expect(budgetResets(at)).toEqual({ day: Date.UTC(2027, 0, 1), month: Date.UTC(2027, 0, 1) });
    expect(budgetResets(Date.UTC(2026, 1, 10, 5))).toEqual({ day: Date.UTC(2026, 1, 11), month: Date.UTC(2026, 2, 1) });
  });
});
