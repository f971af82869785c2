/**
 * Client budgets fleet-wide, on real processes (CONTRACT.md, "Usage, spend and client budgets"):
 * four API processes and two workers share one Redis; the provider is OpenRouter, served by the mock
 * server, which reports what each call cost (`usage.cost`). Eight concurrent callers hammer one
 * client with a small daily cap through all four APIs until each is refused. The spend counted is
 * at least the cap, and overshoots it by no more than the requests that were in flight (eight jobs'
 * cost); every caller ends on 429 budget_exceeded; another client is unaffected; GET /v1/usage and
 * GET /metrics agree with what was spent.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MockServer, openrouterMockCost, startMockServer } from '@switchyard/providers/mock-server';
import { clearOfDayBoundary, deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_SCRIPT,
  launch,
  listeningAddress,
  type ServiceProcess,
  WORKER_SCRIPT,
  waitForApi,
  waitForWorker,
} from '../support/processes.ts';

const APIS = 4;
const CALLERS = 8;
const DAILY_USD = 0.006;
const MODEL = 'openrouter/meta-llama/llama-3.1-8b-instruct';
// 200 words in, 200 words echoed back: the mock charges $1/M prompt and $2/M completion tokens.
const MESSAGE = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
const TEAM_KEY = `team-a-${randomBytes(12).toString('hex')}`;
const FREE_KEY = `team-free-${randomBytes(12).toString('hex')}`;
const OPENROUTER_KEY = `sk-or-v1-${randomBytes(32).toString('hex')}`;

let mock: MockServer;
let namespace: string;
const apis: Array<{ proc: ServiceProcess; url: string }> = [];
const workers: ServiceProcess[] = [];

beforeAll(async () => {
  mock = await startMockServer();
  namespace = testNamespace('usage-e2e');
  const dir = mkdtempSync(join(tmpdir(), 'sy-usage-'));
  const configFile = join(dir, 'fleet.yaml');
  writeFileSync(
    configFile,
    `deployments:
  - { id: openrouter, provider: openrouter, base_url: "\${OPENROUTER_BASE_URL}", api_key: "\${OPENROUTER_API_KEY}" }
clients:
  - { name: team-a, key: "\${TEAM_A_KEY}", daily_usd: ${DAILY_USD} }
  - { name: team-free, key: "\${TEAM_FREE_KEY}" }
`,
  );
  const env = {
    REDIS_URL: testRedisUrl(),
    SWITCHYARD_NAMESPACE: namespace,
    SWITCHYARD_CONFIG: configFile,
    OPENROUTER_API_KEY: OPENROUTER_KEY,
    OPENROUTER_BASE_URL: mock.env().OPENROUTER_BASE_URL as string,
    TEAM_A_KEY: TEAM_KEY,
    TEAM_FREE_KEY: FREE_KEY,
    RATE_LIMIT_RPM: '0',
    JOB_ATTEMPTS: '1',
  };
  // Each API binds a port of its own choosing and logs it: a port picked here would stay free for
  // the seconds the child takes to start, and any process on this shared machine could take it.
  for (let i = 0; i < APIS; i++) {
    const proc = launch({ name: `api-${i}`, script: API_SCRIPT, env: { ...env, API_HOST: '127.0.0.1', API_PORT: '0' } });
    apis.push({ proc, url: '' });
  }
  for (let i = 0; i < 2; i++)
    workers.push(launch({ name: `worker-${i}`, script: WORKER_SCRIPT, env: { ...env, WORKER_CONCURRENCY: '16' } }));
  const apiReady = async (a: { proc: ServiceProcess; url: string }) => {
    a.url = await listeningAddress(a.proc);
    await waitForApi(a.proc, a.url);
  };
  await Promise.all([...apis.map(apiReady), ...workers.map((w) => waitForWorker(w))]);
}, 120_000);

afterAll(async () => {
  await Promise.all([...apis.map((a) => a.proc.kill('SIGTERM')), ...workers.map((w) => w.kill('SIGTERM'))]);
  await mock?.close();
  if (namespace) await deleteNamespace(testRedisUrl(), namespace).catch(() => 0);
});

async function chat(api: string, key: string): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const res = await fetch(`${api}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: MESSAGE }] }),
  });
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

const usage = async (api: string, key: string, groupBy: string) =>
  (await (await fetch(`${api}/v1/usage?days=1&group_by=${groupBy}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
    client: string | null;
    totals: Array<{ key: string; requests: number; prompt_tokens: number; completion_tokens: number; cost_usd: number }>;
  };

describe('a client budget across four API processes', () => {
  it('eight callers hammering one client overshoot its daily cap by at most the requests in flight', async () => {
    // The cap is a day's: spent and checked within one UTC day (it resets at midnight).
    await clearOfDayBoundary(45_000);
    // One job of the uncapped client: what a job costs, as the vendor reports it.
    const probe = await chat(apis[0]!.url, FREE_KEY);
    expect(probe.status).toBe(200);
    const jobCostUsd = openrouterMockCost(probe.body.usage.prompt_tokens, probe.body.usage.completion_tokens);
    expect(jobCostUsd).toBeGreaterThan(0);
    expect(DAILY_USD / jobCostUsd).toBeGreaterThan(CALLERS); // the cap takes several rounds of callers to reach

    const ended: Array<{ status: number; body: any; retryAfter: string | null }> = [];
    const unexpected: unknown[] = [];
    let admitted = 0;
    await Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        for (let n = 0; n < 200; n++) {
          const res = await chat(apis[(caller + n) % APIS]!.url, TEAM_KEY);
          if (res.status === 200) admitted += 1;
          else if (res.status === 429) return void ended.push(res);
          else unexpected.push(res);
        }
      }),
    );
    expect(unexpected).toEqual([]);
    expect(ended).toHaveLength(CALLERS);
    for (const res of ended) {
      expect(res.body.error).toMatchObject({ type: 'budget_exceeded', code: 'budget_exceeded', client: 'team-a', period: 'day' });
      expect(Number(res.retryAfter)).toBeGreaterThan(0);
    }

    // Spend is counted as each job ends; usage (requests, tokens) within the workers' flush (250 ms).
    const own = await waitFor(
      async () => {
        const read = await usage(apis[1]!.url, TEAM_KEY, 'client');
        return read.totals[0]?.requests === admitted ? read : null;
      },
      'usage to count every admitted job',
      10_000,
      50,
    ).catch(() => usage(apis[1]!.url, TEAM_KEY, 'client'));
    expect(own.client).toBe('team-a');
    const spent = own.totals[0]?.cost_usd ?? 0;
    console.log(`budget $${DAILY_USD}: ${admitted} jobs admitted at $${jobCostUsd} each, spent $${spent}`);
    expect(own.totals).toEqual([expect.objectContaining({ key: 'team-a', requests: admitted })]);
    expect(spent).toBeCloseTo(admitted * jobCostUsd, 9);
    expect(spent).toBeGreaterThanOrEqual(DAILY_USD);
    // The bound: once the cap is reached, only what was already in flight can still be counted.
    expect(spent).toBeLessThan(DAILY_USD + CALLERS * jobCostUsd + 1e-9);

    // Another client goes on.
    expect((await chat(apis[2]!.url, FREE_KEY)).status).toBe(200);
    // The team is still refused, by every API.
    for (const api of apis) expect((await chat(api.url, TEAM_KEY)).status).toBe(429);
  }, 120_000);

  it('usage by deployment and model, and GET /metrics, agree with the vendor-reported spend', async () => {
    const byDeployment = await usage(apis[3]!.url, TEAM_KEY, 'deployment');
    const team = (await usage(apis[3]!.url, TEAM_KEY, 'client')).totals[0]!;
    expect(byDeployment.totals).toEqual([{ ...team, key: 'openrouter' }]);
    const byModel = await usage(apis[3]!.url, TEAM_KEY, 'model');
    expect(byModel.totals.map((t) => t.key)).toEqual(['meta-llama/llama-3.1-8b-instruct']);

    const free = (await usage(apis[0]!.url, FREE_KEY, 'client')).totals[0]!;
    const metrics = await (await fetch(`${apis[0]!.url}/metrics`, { headers: { authorization: `Bearer ${FREE_KEY}` } })).text();
    const cost = Number(/^switchyard_cost_usd_total\{deployment="openrouter",route="-"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(cost).toBeCloseTo(team.cost_usd + free.cost_usd, 9);
    const prompt = Number(/^switchyard_tokens_total\{deployment="openrouter",route="-",kind="prompt"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(prompt).toBe(team.prompt_tokens + free.prompt_tokens);
    for (const key of [TEAM_KEY, FREE_KEY, OPENROUTER_KEY]) expect(metrics).not.toContain(key);
  });
});
