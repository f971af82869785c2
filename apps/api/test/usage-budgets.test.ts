/**
 * Named clients, usage and budgets through the real API on a real Redis (CONTRACT.md, "Usage,
 * spend and client budgets"): config clients' keys authenticate next to API_KEYS, each submission
 * carries its client's name to the worker, GET /v1/usage shows a client its own usage only and an
 * operator everyone's, a client over its daily or monthly cap gets 429 budget_exceeded with
 * retry-after to the UTC reset on every face of intake (the official SDK sees a RateLimitError),
 * and GET /metrics and GET /v1/metrics carry jobs, tokens and spend per deployment and route.
 */
import type { ClientConfig } from '@switchyard/shared';
import { clearOfDayBoundary } from '@switchyard/shared/testing';
import { budgetResets, type UsageRecord } from '@switchyard/state';
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';
import { assertOpenAi } from './support/openai-spec.ts';

const PLAIN_KEY = 'plain-api-key-7c1e9a4f';
const ADMIN_KEY = 'admin-api-key-3b2d48e6';
const CLIENTS: ClientConfig[] = [
  { name: 'team-a', key: 'team-a-key-5f9c8d7b6e1a', dailyUsd: 0.01, monthlyUsd: 5 },
  { name: 'team-b', key: 'team-b-key-0a1b2c3d4e5f', monthlyUsd: 0.02 },
  { name: 'team-c', key: 'team-c-key-9e8d7c6b5a4f' },
];
const KEY = { a: CLIENTS[0]!.key, b: CLIENTS[1]!.key, c: CLIENTS[2]!.key };

let api: TestApi;
let baseURL: string;

beforeAll(async () => {
  api = await startTestApi({ API_KEYS: PLAIN_KEY, ADMIN_API_KEYS: ADMIN_KEY, RATE_LIMIT_RPM: '0' }, { clients: CLIENTS });
  baseURL = `${await api.app.listen({ host: '127.0.0.1', port: 0 })}/v1`;
});
afterAll(async () => {
  await api?.close();
});
beforeEach(async () => {
  // Each test starts with no spend: the usage keys of this namespace only.
  const keys = await api.ctx.redis.keys(`${api.namespace}:{usage}:*`);
  if (keys.length > 0) await api.ctx.redis.del(...keys);
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const job = { model: 'mock/echo', messages: [{ role: 'user', content: 'hello' }] };
const spend = (client: string, usd: number, over: Partial<UsageRecord> = {}) =>
  api.ctx.state.usage.record({
    client,
    route: 'chat',
    deployment: 'mock',
    model: 'echo',
    promptTokens: 10,
    completionTokens: 20,
    costMicros: Math.round(usd * 1_000_000),
    at: Date.now(),
    ...over,
  });
const submit = (key: string, url = '/v1/jobs', payload: unknown = job) =>
  api.app.inject({ method: 'POST', url, headers: auth(key), payload: payload as object });

describe('named clients', () => {
  it("authenticate next to API_KEYS; every submission carries its client's name", async () => {
    const named = await submit(KEY.c);
    const plain = await submit(PLAIN_KEY);
    expect([named.statusCode, plain.statusCode]).toEqual([202, 202]);
    const namedJob = await api.ctx.jobs.queue.getJob(named.json().id);
    const plainJob = await api.ctx.jobs.queue.getJob(plain.json().id);
    expect(namedJob?.data.client).toBe('team-c');
    expect(plainJob?.data.client).toMatch(/^key-[0-9a-f]{8}$/);
    expect(plainJob?.data.client).not.toContain(PLAIN_KEY);

    const batch = await submit(KEY.c, '/v1/jobs/batch', { jobs: [job, job] });
    expect(batch.statusCode).toBe(202);
    for (const id of batch.json().ids as string[]) {
      expect((await api.ctx.jobs.queue.getJob(id))?.data.client).toBe('team-c');
    }
    expect((await submit('not-a-configured-key')).statusCode).toBe(401);
  });
});

describe('GET /v1/usage', () => {
  beforeEach(async () => {
    await spend('team-a', 0.001);
    await spend('team-a', 0.002, { route: 'other', deployment: 'openai-main', model: 'gpt-4o' });
    await spend('team-b', 0.004);
  });

  it('an operator sees every client, grouped any way', async () => {
    const res = await api.app.inject({ url: '/v1/usage?days=3&group_by=client', headers: auth(ADMIN_KEY) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ days: 3, group_by: 'client', client: null });
    expect(body.totals).toEqual([
      { key: 'team-b', requests: 1, prompt_tokens: 10, completion_tokens: 20, cost_usd: 0.004 },
      { key: 'team-a', requests: 2, prompt_tokens: 20, completion_tokens: 40, cost_usd: 0.003 },
    ]);
    expect(body.rows.every((r: { date: string }) => r.date === body.to)).toBe(true);
    const byDeployment = (await api.app.inject({ url: '/v1/usage?group_by=deployment', headers: auth(ADMIN_KEY) })).json();
    expect(byDeployment.totals.map((t: { key: string; requests: number }) => [t.key, t.requests])).toEqual([
      ['mock', 2],
      ['openai-main', 1],
    ]);
  });

  it('a client key sees its own usage only, whatever the grouping', async () => {
    const own = (await api.app.inject({ url: '/v1/usage?group_by=client', headers: auth(KEY.a) })).json();
    expect(own.client).toBe('team-a');
    expect(own.totals.map((t: { key: string }) => t.key)).toEqual(['team-a']);
    const byDeployment = (await api.app.inject({ url: '/v1/usage?group_by=deployment', headers: auth(KEY.a) })).json();
    expect(byDeployment.totals.map((t: { key: string; requests: number }) => [t.key, t.requests])).toEqual([
      ['openai-main', 1],
      ['mock', 1],
    ]);
    const plain = (await api.app.inject({ url: '/v1/usage', headers: auth(PLAIN_KEY) })).json();
    expect(plain.totals).toEqual([]);
  });

  it('a bad parameter is a 400 naming it', async () => {
    const res = await api.app.inject({ url: '/v1/usage?group_by=team&days=31', headers: auth(ADMIN_KEY) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/querystring\.(days|group_by)/);
  });
});

describe('budgets at intake', () => {
  it('refuses a client over its daily cap with 429 budget_exceeded and retry-after to UTC midnight; others go on', async () => {
    // Spent and checked against today's cap: both in one day.
    await clearOfDayBoundary();
    expect((await submit(KEY.a)).statusCode).toBe(202);
    await spend('team-a', 0.01);
    const before = Date.now();
    const res = await submit(KEY.a);
    expect(res.statusCode).toBe(429);
    const body = res.json();
    expect(body.error).toMatchObject({
      type: 'budget_exceeded',
      code: 'budget_exceeded',
      param: null,
      client: 'team-a',
      period: 'day',
      limit_usd: 0.01,
      spent_usd: 0.01,
      resets_at: new Date(budgetResets(before).day).toISOString(),
    });
    expect(body.error.message).toMatch(/daily budget of \$0\.0100.*daily_usd/);
    const retryAfter = Number(res.headers['retry-after']);
    const expected = (budgetResets(before).day - before) / 1000;
    expect(retryAfter).toBeGreaterThanOrEqual(Math.floor(expected) - 5);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    // Every face of intake.
    expect((await submit(KEY.a, '/v1/jobs/batch', { jobs: [job] })).statusCode).toBe(429);
    // Other clients, and clients without caps, are not affected.
    expect((await submit(KEY.b)).statusCode).toBe(202);
    expect((await submit(PLAIN_KEY)).statusCode).toBe(202);
    // Reads are not intake.
    expect((await api.app.inject({ url: '/v1/usage', headers: auth(KEY.a) })).statusCode).toBe(200);
  });

  it('a monthly cap waits for the first of the next UTC month', async () => {
    // Spent and checked against this month's cap: both in one month.
    await clearOfDayBoundary();
    await spend('team-b', 0.015);
    expect((await submit(KEY.b)).statusCode).toBe(202);
    await spend('team-b', 0.005);
    const res = await submit(KEY.b);
    expect(res.statusCode).toBe(429);
    expect(res.json().error).toMatchObject({ period: 'month', resets_at: new Date(budgetResets(Date.now()).month).toISOString() });
  });

  it('the OpenAI facades answer an OpenAI-shaped 429: the SDK raises RateLimitError', async () => {
    await spend('team-a', 0.02);
    const client = new OpenAI({ apiKey: KEY.a, baseURL, maxRetries: 0, timeout: 10_000 });
    const chat = await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(chat).toBeInstanceOf(RateLimitError);
    expect((chat as RateLimitError).code).toBe('budget_exceeded');
    expect(Number((chat as RateLimitError).headers?.get('retry-after'))).toBeGreaterThan(0);
    assertOpenAi('ErrorResponse', (chat as RateLimitError).error ? { error: (chat as RateLimitError).error } : {});
    const streamed = await client.chat.completions
      .create({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((e) => e);
    expect(streamed).toBeInstanceOf(RateLimitError);
    const responses = await client.responses.create({ model: 'mock/echo', input: 'hi' }).catch((e) => e);
    expect(responses).toBeInstanceOf(RateLimitError);
    expect((responses as RateLimitError).code).toBe('budget_exceeded');
  });
});

describe('GET /metrics', () => {
  it('has jobs, tokens and spend per deployment and route, fleet-wide', async () => {
    await spend('team-a', 0.5);
    await spend('team-b', 0.25, { route: undefined });
    const text = (await api.app.inject({ url: '/metrics', headers: auth(ADMIN_KEY) })).body;
    expect(text).toContain('switchyard_jobs_total{deployment="mock",route="chat"} 1');
    expect(text).toContain('switchyard_jobs_total{deployment="mock",route="-"} 1');
    expect(text).toContain('switchyard_tokens_total{deployment="mock",route="chat",kind="prompt"} 10');
    expect(text).toContain('switchyard_tokens_total{deployment="mock",route="chat",kind="completion"} 20');
    expect(text).toContain('switchyard_cost_usd_total{deployment="mock",route="chat"} 0.5');
    expect(text).toContain('switchyard_cost_usd_total{deployment="mock",route="-"} 0.25');
    expect(text).not.toMatch(/team-a-key|team-b-key/);
  });
});

describe('GET /v1/metrics per route', () => {
  it('has the jobs, tokens and spend of each route over the range and per day; a client key sees its own jobs only', async () => {
    await spend('team-a', 0.5);
    await spend('team-a', 0.25);
    await spend('team-b', 0.125);
    await spend('team-b', 0.0625, { route: undefined });
    const metrics = async (key: string) => {
      const res = await api.app.inject({ url: '/v1/metrics?days=2', headers: auth(key) });
      expect(res.statusCode).toBe(200);
      return res.json() as {
        routes: Array<{ route: string; requests: number; cost_usd: number }>;
        daily: Array<{ date: string; routes: Array<{ route: string; requests: number }> }>;
      };
    };
    const all = await metrics(ADMIN_KEY);
    expect(all.routes).toEqual([
      { route: 'chat', requests: 3, prompt_tokens: 30, completion_tokens: 60, cost_usd: 0.875 },
      { route: '-', requests: 1, prompt_tokens: 10, completion_tokens: 20, cost_usd: 0.0625 },
    ]);
    // The days add up to the range (all of it today, or across midnight if the test straddles it).
    const perDay = all.daily.flatMap((d) => d.routes.map((r) => `${r.route}:${r.requests}`));
    expect(perDay.filter((r) => r.startsWith('chat:')).reduce((n, r) => n + Number(r.split(':')[1]), 0)).toBe(3);
    expect(all.daily.map((d) => d.date)).toHaveLength(2);

    expect((await metrics(KEY.b)).routes).toEqual([
      { route: 'chat', requests: 1, prompt_tokens: 10, completion_tokens: 20, cost_usd: 0.125 },
      { route: '-', requests: 1, prompt_tokens: 10, completion_tokens: 20, cost_usd: 0.0625 },
    ]);
    expect((await metrics(KEY.c)).routes).toEqual([]);
  });
});
