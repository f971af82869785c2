/**
 * `switchyard usage` against the real API (in-process, real Redis): the table of tokens and spend
 * per day and key with totals, grouped as asked; a client key's own usage only; JSON as served;
 * bad options refused with the fix, before any request.
 */
import type { ClientConfig } from '@switchyard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../apps/api/test/harness.ts';
import { runInProcess } from './support/in-process.ts';

const ADMIN_KEY = 'usage-cli-admin-5e1d';
const CLIENTS: ClientConfig[] = [{ name: 'team-a', key: 'usage-cli-team-a-9c2b' }];
let api: TestApi;
let url: string;
/** The UTC day the usage below was recorded on: its row's date, even if the tests run past midnight. */
let recordedOn: string;

beforeAll(async () => {
  api = await startTestApi({ ADMIN_API_KEYS: ADMIN_KEY, RATE_LIMIT_RPM: '0' }, { clients: CLIENTS });
  url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  const at = Date.now();
  recordedOn = new Date(at).toISOString().slice(0, 10);
  const base = { route: 'gpt-4o', deployment: 'openai-main', model: 'gpt-4o', at };
  await api.ctx.state.usage.record({ ...base, client: 'team-a', promptTokens: 1_200, completionTokens: 300, costMicros: 6_000_000 });
  await api.ctx.state.usage.record({
    ...base,
    client: 'team-b',
    deployment: 'local',
    promptTokens: 10,
    completionTokens: 5,
    costMicros: 25,
  });
});
afterAll(async () => {
  await api?.close();
});

const run = (args: string[], key: string) => runInProcess(args, { SWITCHYARD_URL: url, SWITCHYARD_API_KEY: key });

describe('switchyard usage', () => {
  it('prints a line per day and key, then totals, grouped as asked', async () => {
    const byDeployment = await run(['usage', '--days', '3', '--group-by', 'deployment'], ADMIN_KEY);
    expect(byDeployment.code, byDeployment.stderr).toBe(0);
    const lines = byDeployment.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^DATE +DEPLOYMENT +REQUESTS +PROMPT +COMPLETION +COST$/);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${recordedOn} +openai-main +1 +1,200 +300 +\\$6\\.00$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^TOTAL +openai-main +1 +1,200 +300 +\$6\.00$/));
    expect(lines).toContainEqual(expect.stringMatching(/^TOTAL +local +1 +10 +5 +\$0\.000025$/));
    expect(byDeployment.stdout).toMatch(/\(UTC\)\n$/);
  });

  it("a client key sees its own usage only; --json is the API's answer", async () => {
    const own = await run(['usage'], CLIENTS[0]!.key);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toMatch(/^TOTAL +team-a +1 +1,200 +300 +\$6\.00$/m);
    expect(own.stdout).not.toContain('team-b');
    expect(own.stdout).toContain('(client team-a)');
    const json = await run(['usage', '--json', '--group-by', 'model'], ADMIN_KEY);
    expect(JSON.parse(json.stdout)).toMatchObject({ days: 7, group_by: 'model', totals: [{ key: 'gpt-4o', requests: 2 }] });
  });

  it('refuses bad options with the fix', async () => {
    const days = await run(['usage', '--days', '40'], ADMIN_KEY);
    expect(days.code).toBe(2);
    expect(days.stderr).toContain('--days must be a whole number from 1 to 30, got "40"');
    const group = await run(['usage', '--group-by', 'team'], ADMIN_KEY);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('--group-by must be one of client, route, deployment, model, got "team"');
  });
});
