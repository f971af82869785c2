/**
 * Nothing phones home, in real headless Chromium (support/chromium.ts): every request to anything
 * but the API's own origin is blocked and recorded, and the dashboard and bull-board must still
 * render (the dashboard its panels, bull-board the queue) with no request having left for another
 * origin and no console error (a CSP violation is one). Also: a client key, with ADMIN_API_KEYS set,
 * is sent back to the key form with the reason.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ListeningTestApi, startListeningTestApi } from '../harness.ts';
import { type Chromium, collectPageErrors, launchChromium } from '../support/chromium.ts';

const CLIENT = 'client-key-browser-1';
const OPERATOR = 'operator-key-browser-1';

let api: ListeningTestApi;
let browser: Chromium;
let context: BrowserContext;
let page: Page;
const requested: string[] = [];
const blocked: string[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  api = await startListeningTestApi({ API_KEYS: CLIENT, ADMIN_API_KEYS: OPERATOR });
  const origin = new URL(api.url).origin;
  browser = await launchChromium();
  context = browser.context;
  // The network is this API and nothing else.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requested.push(url);
    if (url.startsWith('data:') || new URL(url).origin === origin) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  page = context.pages()[0] ?? (await context.newPage());
  collectPageErrors(page, consoleErrors);
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

async function submitJob(content: string) {
  const res = await fetch(`${api.url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content }] }),
  });
  expect(res.status).toBe(202);
}

async function enterKey(key: string) {
  await page.locator('#key-form').waitFor({ state: 'visible', timeout: 15_000 });
  await page.fill('#key-input', key);
  await page.click('#key-form button[type="submit"]');
}

describe('dashboard and bull-board with the network cut to the API alone', () => {
  it('sends a client key back to the key form, saying an operator key is needed', async () => {
    await page.goto(`${api.url}/dashboard`);
    await enterKey(CLIENT);
    await expect.poll(() => page.locator('#problem').textContent(), { timeout: 15_000 }).toContain('operator key');
    expect(await page.locator('#key-form').isVisible()).toBe(true);
  });

  it('the dashboard shows its panels with an operator key, loading nothing from elsewhere', async () => {
    consoleErrors.length = 0; // the refused client key's 403s were logged above
    await submitJob('for the queue panel');
    await api.state.report({ provider: 'mock', model: 'echo', outcome: 'success', latencyMs: 12 });
    await page.goto(`${api.url}/dashboard`);
    await enterKey(OPERATOR);
    await page.locator('article.provider[data-provider="mock"]').waitFor({ timeout: 20_000 });
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('[data-count="waiting"] dd').textContent(), { timeout: 10_000 }).toBe('1');
    for (const chart of ['throughput', 'errors', 'latency']) await page.locator(`#chart-${chart} canvas`).waitFor({ timeout: 10_000 });
    expect(blocked).toEqual([]);
    // Its Content-Security-Policy refuses another origin before the request is made: a console error, not a blocked URL.
    expect(consoleErrors).toEqual([]);
  });

  it("bull-board shows the queue (through the operator's session cookie), loading nothing from elsewhere", async () => {
    // The dashboard asked for bull-board's session cookie after the key was entered.
    await expect
      .poll(async () => (await context.cookies(`${api.url}/admin/queues`)).map((c) => c.name), { timeout: 10_000 })
      .toContain('sy_session');
    const before = requested.length;
    await page.goto(`${api.url}/admin/queues`);
    await page.getByText('llm-jobs').first().waitFor({ timeout: 20_000 });
    // It did load its own scripts and styles, all from the API.
    const own = requested.slice(before);
    expect(own.some((url) => url.includes('/admin/queues/static/'))).toBe(true);
    expect(blocked).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
