/**
 * The dashboard under a fleet config file, in real headless Chromium (as browser.test.ts): one
 * card per deployment with its provider kind alongside, a dead deployment's circuit turning red
 * while the other deployment of the same kind stays closed, and a worker replica whose config hash
 * differs from the API's marked in the workers table (GET /v1/workers says the same in
 * `config_current`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ListeningTestApi, startListeningTestApi } from '../harness.ts';
import { type Chromium, collectPageErrors, launchChromium } from '../support/chromium.ts';

const KEY = 'deployments-view-key-31';
const OTHER_HASH = 'a1b2c3d4e5f6';
const dir = mkdtempSync(join(tmpdir(), 'sy-dash-fleet-'));
const file = join(dir, 'fleet.yaml');

let api: ListeningTestApi;
let browser: Chromium;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  writeFileSync(
    file,
    `deployments:
  - { id: mock-main, provider: mock }
  - { id: mock-backup, provider: mock }
routes:
  - name: chat
    targets: [ { deployment: mock-main, model: echo }, { deployment: mock-backup, model: echo } ]
`,
  );
  api = await startListeningTestApi({ API_KEYS: KEY, SWITCHYARD_CONFIG: file, CIRCUIT_FAILURE_THRESHOLD: '3', CIRCUIT_RESET_MS: '90000' });
  browser = await launchChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  collectPageErrors(page, consoleErrors);
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard over deployments', () => {
  it('cards per deployment with their kind; a replica on another config is marked', async () => {
    const hash = api.ctx.fleet.hash;
    const worker = (id: string, config_hash: string) =>
      api.state.heartbeat({ id, host: 'node-1', pid: 100, concurrency: 8, active_jobs: 0, started_at: Date.now() - 1_000, config_hash });
    await worker('w-current', hash);
    await worker('w-behind', OTHER_HASH);
    const workers = await api.app.inject({ url: '/v1/workers', headers: { authorization: `Bearer ${KEY}` } });
    expect(
      Object.fromEntries(
        (workers.json().workers as Array<{ id: string; config_hash: string; config_current: boolean }>).map((w) => [
          w.id,
          [w.config_hash, w.config_current],
        ]),
      ),
    ).toEqual({ 'w-current': [hash, true], 'w-behind': [OTHER_HASH, false] });

    await page.goto(`${api.url}/dashboard`);
    await page.locator('#key-form').waitFor({ state: 'visible', timeout: 15_000 });
    await page.fill('#key-input', KEY);
    await page.click('#key-form button[type="submit"]');

    const main = page.locator('article.provider[data-provider="mock-main"]');
    const backup = page.locator('article.provider[data-provider="mock-backup"]');
    await main.waitFor({ timeout: 20_000 });
    expect(await main.locator('.name').textContent()).toContain('mock-main (mock)');
    expect(await backup.locator('.name').textContent()).toContain('mock-backup (mock)');
    expect(await page.locator('article.provider').count()).toBe(2);

    // A dead deployment: its card turns red, the same kind's other deployment stays closed.
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    for (let i = 0; i < 3; i++) await api.state.report({ provider: 'mock-main', model: 'echo', outcome: 'api_key_invalid', latencyMs: 3 });
    await page.locator('article.provider[data-provider="mock-main"][data-circuit="open"]').waitFor({ timeout: 10_000 });
    expect(await backup.getAttribute('data-circuit')).toBe('closed');

    const behind = page.locator('#workers tr[data-worker="w-behind"]');
    const current = page.locator('#workers tr[data-worker="w-current"]');
    await behind.waitFor({ timeout: 10_000 });
    expect(await behind.getAttribute('class')).toContain('config-differs');
    expect(await behind.locator('td').last().textContent()).toBe(`${OTHER_HASH} ≠ ${hash}`);
    expect((await current.getAttribute('class')) ?? '').not.toContain('config-differs');
    expect(await current.locator('td').last().textContent()).toBe(hash);
    expect(consoleErrors).toEqual([]);
  });
});
