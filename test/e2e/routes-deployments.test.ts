/**
 * Routes over deployments end to end (CONTRACT.md "Routes and deployments"), with the real API,
 * four real worker processes and the fault-injecting mock server speaking OpenAI's and Azure's
 * wire formats: the plain `openai` SDK sends `model: "gpt-4o"` and gets the route's fallbacks; a
 * dead key behind the route opens its own deployment's circuit after at most threshold + in-flight
 * calls while every request succeeds through the live one; an Azure deployment answers through its
 * own URL shape; a config file rewritten under load swaps every replica without losing a request
 * or mixing two configs in one job; a bad file stops a process naming the field; the Responses face
 * takes a route by name and falls back before its first token as the chat face does.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MockServer, startMockServer } from '@switchyard/providers/mock-server';
import type { JobView } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertOpenAi } from '../../apps/api/test/support/openai-spec.ts';
import { API_SCRIPT, type Fleet, launch, startFleet, WORKER_SCRIPT } from '../support/processes.ts';

const THRESHOLD = 3;
const CONCURRENCY = 4;

const keys = {
  OPENAI_KEY_MAIN: `sk-test-main-${randomBytes(12).toString('hex')}`,
  OPENAI_KEY_BACKUP: `sk-test-backup-${randomBytes(12).toString('hex')}`,
  AZURE_KEY: randomBytes(16).toString('hex'),
};

function configYaml(mock: MockServer, version: 'v1' | 'v2'): string {
  const urls = mock.baseUrls as Record<string, string>;
  // v2 moves the `swap` route to another deployment and model: a job planned under one config
  // must show one of them, never both.
  const swapTarget = version === 'v1' ? '{ deployment: openai-backup, model: swap-v1 }' : '{ deployment: azure-eu, model: swap-v2 }';
  return `# ${version}
deployments:
  - { id: openai-main, provider: openai, base_url: "${urls.openai}", api_key: "\${OPENAI_KEY_MAIN}" }
  - { id: openai-backup, provider: openai, base_url: "${urls.openai}", api_key: "\${OPENAI_KEY_BACKUP}" }
  - { id: azure-eu, provider: azure-openai, base_url: "${urls['azure-openai']}", api_key: "\${AZURE_KEY}", api_version: "2024-10-21" }
  - { id: openai-resp, provider: openai, base_url: "${urls.openai}", api_key: "\${OPENAI_KEY_BACKUP}" }
routes:
  - name: gpt-4o
    targets:
      - { deployment: openai-main, model: gpt-4o-dead-key }
      - { deployment: openai-backup, model: gpt-4o }
  - name: azure
    targets: [ { deployment: azure-eu, model: contoso-gpt-4o } ]
  - name: swap
    targets: [ ${swapTarget} ]
  - name: responses
    targets:
      - { deployment: openai-resp, model: resp-down }
      - { deployment: openai-backup, model: resp-live }
default_route: gpt-4o
`;
}

let mock: MockServer;
let fleet: Fleet;
let dir: string;
let configPath: string;
let namespace: string;
let client: OpenAI;

/** Replaces the file the way editors and config management do: write aside, rename over. */
function writeConfig(text: string): void {
  const aside = `${configPath}.tmp`;
  writeFileSync(aside, text);
  renameSync(aside, configPath);
}

async function workerHashes(): Promise<string[]> {
  const res = await fetch(`${fleet.apiUrl}/v1/workers`);
  const body = (await res.json()) as { workers: Array<{ config_hash: string | null }> };
  return body.workers.map((w) => w.config_hash ?? 'none');
}

async function apiHash(): Promise<string> {
  return ((await (await fetch(`${fleet.apiUrl}/v1/config`)).json()) as { hash: string }).hash;
}

beforeAll(async () => {
  mock = await startMockServer();
  // The dead key: every call of the main deployment's model answers OpenAI's 401.
  // And the `responses` route's first target answers 503 to every call.
  mock.setFaults([
    { provider: 'openai', model: 'gpt-4o-dead-key', fault: 'error=auth' },
    { provider: 'openai', model: 'resp-down', fault: 'status=503' },
  ]);
  dir = mkdtempSync(join(tmpdir(), 'sy-routes-'));
  configPath = join(dir, 'fleet.yaml');
  writeConfig(configYaml(mock, 'v1'));
  namespace = testNamespace('routes');
  fleet = await startFleet({
    namespace,
    workers: 4,
    env: {
      ...keys,
      SWITCHYARD_CONFIG: configPath,
      CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
      CIRCUIT_RESET_MS: '600000',
      HEDGE_DELAY_MS: '10000',
      RATE_LIMIT_RPM: '0',
      MOCK_PROVIDER: 'false',
    },
  });
  client = new OpenAI({ baseURL: `${fleet.apiUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await mock?.close();
  if (namespace) await deleteNamespace(testRedisUrl(), namespace);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('routes over deployments', () => {
  it('a dead key behind the route opens its own circuit after at most threshold + in-flight calls; every request succeeds through the other key', async () => {
    const answers: string[] = [];
    const lanes = Array.from({ length: CONCURRENCY }, async (_, lane) => {
      for (let i = 0; i < 10; i++) {
        const completion = await client.chat.completions.create({
          model: 'gpt-4o',
          messages: [{ role: 'user', content: `lane ${lane} call ${i}` }],
        });
        answers.push(completion.choices[0]?.message.content ?? '');
      }
    });
    await Promise.all(lanes);
    expect(answers).toHaveLength(40);
    const dead = mock.stats().byModel['openai/gpt-4o-dead-key']?.received ?? 0;
    expect(dead).toBeGreaterThanOrEqual(THRESHOLD);
    expect(dead).toBeLessThanOrEqual(THRESHOLD + CONCURRENCY);
    expect(mock.stats().byModel['openai/gpt-4o']?.received).toBe(40);

    const status = (await (await fetch(`${fleet.apiUrl}/v1/providers/status`)).json()) as {
      providers: Array<{ deployment: string; provider: string; state: string; circuit: { state: string } }>;
    };
    const byId = Object.fromEntries(status.providers.map((p) => [p.deployment, p]));
    expect(byId['openai-main']).toMatchObject({ provider: 'openai', state: 'api_key_invalid', circuit: { state: 'open' } });
    expect(byId['openai-backup']).toMatchObject({ provider: 'openai', circuit: { state: 'closed' } });
    expect(byId['openai-backup']?.state).not.toBe('api_key_invalid');
  });

  it('a job names the route, its deployment and the provider kind; a request without a model takes the default route', async () => {
    const res = await fetch(`${fleet.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'no model named' }] }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const view = (await (await fetch(`${fleet.apiUrl}/v1/jobs/${id}?wait_ms=20000`)).json()) as JobView;
    expect(view).toMatchObject({
      status: 'completed',
      model: 'gpt-4o',
      result: { route: 'gpt-4o', deployment: 'openai-backup', provider: 'openai' },
    });
  });

  it('an Azure deployment answers through its own URL shape and api-key header', async () => {
    const completion = await client.chat.completions.create({ model: 'azure', messages: [{ role: 'user', content: 'hello azure' }] });
    expect(completion.choices[0]?.message.content).toContain('hello azure');
    expect(mock.stats().byModel['azure-openai/contoso-gpt-4o']?.completed).toBeGreaterThanOrEqual(1);
  });

  it('the Responses face takes a route by name; a target failing before the first token falls back to the next, unseen by the client', async () => {
    const downBefore = mock.stats().byModel['openai/resp-down']?.received ?? 0;
    const stream = await client.responses.create({ model: 'responses', input: 'routed and streamed', stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    for (const event of events) assertOpenAi('ResponseStreamEvent', event);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).not.toContain('response.failed');
    expect(events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('')).toContain('routed and streamed');
    expect(mock.stats().byModel['openai/resp-down']?.received).toBeGreaterThan(downBefore);
    expect(mock.stats().byModel['openai/resp-live']?.completed).toBeGreaterThanOrEqual(1);

    const plain = await client.responses.create({ model: 'responses', input: 'routed plainly' });
    assertOpenAi('Response', { ...plain, output_text: undefined });
    expect(plain.status).toBe('completed');
    expect(plain.output_text).toContain('routed plainly');
    const chat = await client.chat.completions.create({ model: 'responses', messages: [{ role: 'user', content: 'routed plainly' }] });
    expect(plain.model).toBe(chat.model);
  });

  it('an unknown model is the SDK’s NotFoundError (404 model_not_found); /v1/models lists the routes', async () => {
    const error = await client.chat.completions
      .create({ model: 'gpt-5-nowhere', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(String(error.message)).toContain('gpt-4o');
    const jobs = await fetch(`${fleet.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', fallbacks: ['nowhere/x'], messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(jobs.status).toBe(404);
    expect(await jobs.json()).toMatchObject({ error: { code: 'model_not_found', param: 'fallbacks[0]' } });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-4o', 'azure', 'swap']));
  });

  it('GET /v1/config shows the running config with every key redacted, and every worker runs its hash', async () => {
    const text = await (await fetch(`${fleet.apiUrl}/v1/config`)).text();
    for (const key of Object.values(keys)) expect(text).not.toContain(key);
    const config = JSON.parse(text) as { hash: string; source: string; routes: Array<{ name: string }> };
    expect(config).toMatchObject({ source: 'file' });
    expect(config.routes.map((r) => r.name)).toEqual(['gpt-4o', 'azure', 'swap', 'responses']);
    expect(await workerHashes()).toEqual([config.hash, config.hash, config.hash, config.hash]);
  });

  it('a config rewritten under load: every replica swaps within seconds, no request is lost, no job mixes the two configs', async () => {
    const before = await apiHash();
    let stop = false;
    const results: Array<{ content: string; model: string }> = [];
    const load = Array.from({ length: CONCURRENCY }, async () => {
      while (!stop) {
        const completion = await client.chat.completions.create({ model: 'swap', messages: [{ role: 'user', content: 'swap me' }] });
        results.push({ content: completion.choices[0]?.message.content ?? '', model: completion.model });
      }
    });
    await waitFor(() => results.length >= 8 || null, 'requests under the first config', 30_000);
    const written = Date.now();
    writeConfig(configYaml(mock, 'v2'));
    // Noticed within 5 s by every process (file watch, with a stat poll behind it); a worker's swap
    // shows in /v1/workers at its next heartbeat, at most HEARTBEAT_EVERY_MS (2 s) later.
    // The 5 s promise itself is held by fleet-config-source.test.ts (the stat poll alone); here,
    // beside four workers under load and another test file, a little room for a stalled loop.
    await waitFor(async () => (await apiHash()) !== before || null, 'the API on the new config', 7_000, 100);
    const after = await apiHash();
    await waitFor(async () => (await workerHashes()).every((h) => h === after) || null, 'every worker on the new config', 9_000, 100);
    expect(Date.now() - written).toBeLessThan(9_000);
    const swappedAt = results.length;
    await waitFor(() => results.length >= swappedAt + 8 || null, 'requests under the second config', 30_000);
    stop = true;
    await Promise.all(load);

    // Every request answered (a rejection would have failed the lane), each by exactly one config's target.
    const v1 = mock.stats().byModel['openai/swap-v1']?.received ?? 0;
    const v2 = mock.stats().byModel['azure-openai/swap-v2']?.received ?? 0;
    expect(v1 + v2).toBe(results.length);
    // Each answer names the kind and model that served it: one config's pair, never v1's model on
    // v2's deployment (or the reverse), and as many of each as the mock served.
    const served = results.map((r) => r.model);
    expect(served.filter((m) => m === 'openai/swap-v1')).toHaveLength(v1);
    expect(served.filter((m) => m === 'azure-openai/swap-v2')).toHaveLength(v2);
    expect(v1).toBeGreaterThanOrEqual(8);
    expect(v2).toBeGreaterThanOrEqual(8);
  });

  it('a bad file at start-up stops the process with every bad field named by its path', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      `deployments:
  - { id: openai-main, provider: openai, api_key: "\${SWITCHYARD_TEST_UNSET_VAR}" }
  - { id: openai-main, provider: openai, api_key: x }
routes:
  - name: r
    targets: [ { deployment: zzz, model: m, weight: -1 } ]
    fallbacks: [ s ]
  - name: s
    targets: [ { deployment: openai-main, model: m } ]
    fallbacks: [ r ]
`,
    );
    // Every process reads the file: the API and a worker both refuse it, naming each field.
    for (const script of [API_SCRIPT, WORKER_SCRIPT]) {
      const proc = launch({ script, env: { ...fleet.env, SWITCHYARD_CONFIG: bad, API_PORT: '0' } });
      const exit = await proc.exited;
      expect(exit.code, script).toBe(1);
      const output = proc.lines.join('\n');
      expect(output).toMatch(/deployments\[0\]\.api_key: environment variable SWITCHYARD_TEST_UNSET_VAR is not set/);
      expect(output).toMatch(/deployments\[1\]\.id: duplicate deployment id "openai-main"/);
      expect(output).toMatch(/routes\[0\]\.targets\[0\]\.deployment: unknown deployment "zzz"/);
      expect(output).toMatch(/routes\[0\]\.targets\[0\]\.weight: must be a positive number/);
      expect(output).toMatch(/routes\[0\]\.fallbacks\[0\]: fallback loop r -> s -> r/);
    }
  });
});
