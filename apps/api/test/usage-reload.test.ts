/**
 * Clients follow the running fleet config: a reload that rotates a client's key, adds a client or
 * raises a cap applies from the next request, through the real API on a real Redis (the config
 * source reloaded as a file change or SIGHUP would).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetRuntimeSource } from '@switchyard/providers';
import { createLogger, FleetConfigSource, loadConfig } from '@switchyard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-usage-reload-'));
const file = join(dir, 'fleet.yaml');
const ENV = { OLD_KEY: 'team-a-old-key-1f2e3d4c', NEW_KEY: 'team-a-new-key-5b6a7980', B_KEY: 'team-b-key-aa11bb22' };
const fleetFile = (clients: string) => `deployments:\n  - { id: mock, provider: mock }\nclients:\n${clients}\n`;

let api: TestApi;
let source: FleetConfigSource;

beforeAll(async () => {
  writeFileSync(file, fleetFile('  - { name: team-a, key: "${OLD_KEY}", daily_usd: 0.001 }'));
  const logger = createLogger({ name: 'reload-test', level: 'silent' });
  const config = loadConfig({ SWITCHYARD_CONFIG: file });
  source = new FleetConfigSource({ config, logger, env: { ...process.env, ...ENV }, fsWatch: false, pollMs: 60_000 });
  api = await startTestApi({ RATE_LIMIT_RPM: '0' }, { fleet: FleetRuntimeSource.from(source, { defaultTimeoutMs: 5_000, logger }) });
});
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const submit = (key: string) =>
  api.app.inject({
    method: 'POST',
    url: '/v1/jobs',
    headers: { authorization: `Bearer ${key}` },
    payload: { model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] },
  });

describe('clients across a config reload', () => {
  it('a rotated key, a new client and a raised cap apply from the next request', async () => {
    await api.ctx.state.usage.record({
      client: 'team-a',
      deployment: 'mock',
      model: 'echo',
      promptTokens: 1,
      completionTokens: 1,
      costMicros: 2_000,
      at: Date.now(),
    });
    expect((await submit(ENV.OLD_KEY)).statusCode).toBe(429);
    expect((await submit(ENV.NEW_KEY)).statusCode).toBe(401);
    expect((await submit(ENV.B_KEY)).statusCode).toBe(401);

    writeFileSync(
      file,
      fleetFile('  - { name: team-a, key: "${NEW_KEY}", daily_usd: 1 }\n  - { name: team-b, key: "${B_KEY}", daily_usd: 0.0001 }'),
    );
    expect(await source.reload('test')).toBe('changed');

    expect((await submit(ENV.OLD_KEY)).statusCode).toBe(401);
    const rotated = await submit(ENV.NEW_KEY);
    expect(rotated.statusCode).toBe(202);
    expect((await api.ctx.jobs.queue.getJob(rotated.json().id))?.data.client).toBe('team-a');
    expect((await submit(ENV.B_KEY)).statusCode).toBe(202);
  });
});
