/**
 * The dashboard's tokens-and-spend panel in real headless Chromium (Debian's chromium through
 * playwright-core, as browser.test.ts): routes, deployments and clients, each with tokens and
 * dollars over the last hour and the last 30 days, read from the usage store the workers write,
 * with no console errors. Leaves a screenshot in test-artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ListeningTestApi, startListeningTestApi } from '../harness.ts';
import { type Chromium, collectPageErrors, launchChromium } from '../support/chromium.ts';

const ARTIFACTS = resolve(import.meta.dirname, '../../../../test-artifacts');
const KEY = 'usage-panel-key-77';
const DAY = 86_400_000;

let api: ListeningTestApi;
let browser: Chromium;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  api = await startListeningTestApi({ API_KEYS: KEY });
  browser = await launchChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  collectPageErrors(page, consoleErrors);
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

const cells = (row: ReturnType<Page['locator']>) => row.locator('td').allTextContents();

describe('tokens and spend on the dashboard', () => {
  it('per route, deployment and client, over the last hour and 30 days', async () => {
    const now = Date.now();
    const record = (over: object) =>
      api.state.usage.record({
        client: 'team-a',
        route: 'gpt-4o',
        deployment: 'openai-main',
        model: 'gpt-4o',
        promptTokens: 1_000,
        completionTokens: 500,
        costMicros: 1_250_000,
        at: now,
        ...over,
      });
    await record({});
    await record({ client: 'team-b', deployment: 'openai-backup' });
    // Three days ago: in the 30 days, not in the hour.
    await record({ at: now - 3 * DAY, costMicros: 40_000_000, promptTokens: 10_000, completionTokens: 0 });

    await page.goto(`${api.url}/dashboard`);
    await page.locator('#key-form').waitFor({ state: 'visible', timeout: 15_000 });
    await page.fill('#key-input', KEY);
    await page.click('#key-form button[type="submit"]');

    const route = page.locator('[data-usage="route"] tr[data-key="gpt-4o"]');
    await route.waitFor({ timeout: 20_000 });
    expect(await cells(route)).toEqual(['gpt-4o', '3,000', '$2.50', '13,000', '$42.50']);
    const teamA = page.locator('[data-usage="client"] tr[data-key="team-a"]');
    expect(await cells(teamA)).toEqual(['team-a', '1,500', '$1.25', '11,500', '$41.25']);
    const backup = page.locator('[data-usage="deployment"] tr[data-key="openai-backup"]');
    expect(await cells(backup)).toEqual(['openai-backup', '1,500', '$1.25', '1,500', '$1.25']);
    // Most spent first.
    expect(await page.locator('[data-usage="client"] tbody tr').evaluateAll((rows) => rows.map((r) => (r as any).dataset.key))).toEqual([
      'team-a',
      'team-b',
    ]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-usage.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });
});
