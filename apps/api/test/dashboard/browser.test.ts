/**
 * The dashboard in real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core,
 * no browser download): the page asks for the API key, loads with no console errors, shows the
 * provider, queue, workers and charts, turns the provider's circuit red within seconds of
 * injected failures (reported through the state store, as workers do), and leaves a screenshot
 * in test-artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ListeningTestApi, startListeningTestApi } from '../harness.ts';
import { type Chromium, launchChromium } from '../support/chromium.ts';

const ARTIFACTS = resolve(import.meta.dirname, '../../../../test-artifacts');
const KEY = 'browser-test-key-42';

let api: ListeningTestApi;
let browser: Chromium;
let context: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  api = await startListeningTestApi({ API_KEYS: KEY, CIRCUIT_FAILURE_THRESHOLD: '3', CIRCUIT_RESET_MS: '90000' });
  browser = await launchChromium();
  context = browser.context;
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (request) => {
    // The stream is aborted on purpose when the page closes; anything else failing is a bug.
    if (!request.url().includes('/dashboard/api/stream')) consoleErrors.push(`request failed: ${request.url()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe('dashboard in headless Chromium', () => {
  it('asks for the key, then shows providers, queue, workers and charts live, with no console errors', async () => {
    // Something to show: a live worker, two queued jobs, a minute of traffic.
    await api.state.heartbeat({
      id: 'worker-a',
      host: 'node-1',
      pid: 101,
      concurrency: 16,
      active_jobs: 12,
      started_at: Date.now() - 60_000,
    });
    for (let i = 0; i < 2; i++) {
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        payload: { model: 'mock/echo', messages: [{ role: 'user', content: `queued ${i}` }] },
      });
      expect(res.statusCode).toBe(202);
    }
    for (let i = 0; i < 20; i++) await api.state.report({ provider: 'mock', model: 'echo', outcome: 'success', latencyMs: 30 + i * 20 });
    await api.state.report({ provider: 'mock', model: 'echo', outcome: 'timeout', latencyMs: 3000 });
    // A success resets the count of consecutive failures, so the trip below starts from zero.
    await api.state.report({ provider: 'mock', model: 'echo', outcome: 'success', latencyMs: 25 });

    await page.goto(`${api.url}/dashboard`);
    await page.locator('#key-form').waitFor({ state: 'visible', timeout: 15_000 });
    await page.fill('#key-input', KEY);
    await page.click('#key-form button[type="submit"]');

    const card = page.locator('article.provider[data-provider="mock"]');
    await card.waitFor({ timeout: 20_000 });
    expect(await card.getAttribute('data-circuit')).toBe('closed');
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#key-form').isHidden()).toBe(true);
    await expect.poll(() => page.locator('[data-count="waiting"] dd').textContent(), { timeout: 10_000 }).toBe('2');
    await page.locator('#workers tr[data-worker="worker-a"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#workers tr[data-worker="worker-a"]').textContent()).toContain('12/16');
    for (const chart of ['throughput', 'errors', 'latency']) {
      await page.locator(`#chart-${chart} canvas`).waitFor({ timeout: 10_000 });
    }
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('switchyard.apiKey'))).toBe(KEY);
    expect(consoleErrors).toEqual([]);
  });

  it("turns the provider's circuit red within seconds of injected failures, counting down to the probe", async () => {
    const started = Date.now();
    for (let i = 0; i < 3; i++) await api.state.report({ provider: 'mock', model: 'echo', outcome: 'service_unavailable', latencyMs: 4 });
    const open = page.locator('article.provider[data-provider="mock"][data-circuit="open"]');
    await open.waitFor({ timeout: 10_000 });
    const elapsed = Date.now() - started;
    // Pushed by the circuit event the moment Redis publishes it: well under a second when idle.
    expect(elapsed).toBeLessThan(5_000);

    const badge = open.locator('.badge.circuit-open');
    expect(await badge.textContent()).toBe('circuit open');
    expect(await badge.evaluate((node) => (globalThis as any).getComputedStyle(node).backgroundColor)).toBe('rgb(224, 70, 60)');
    await expect.poll(() => open.locator('.probe').textContent(), { timeout: 3_000 }).toMatch(/^next probe in 1m \d\ds$/);
    await expect.poll(() => open.locator('.error').textContent(), { timeout: 5_000 }).toContain('service_unavailable');

    // The force-refresh button answers without an error (an open circuit is never probed).
    await page.click('#refresh');
    await expect.poll(() => page.locator('#refresh').isEnabled(), { timeout: 5_000 }).toBe(true);
    expect(await page.locator('#problem').isHidden()).toBe(true);

    // The charts get the failures with the trip's events: the errors chart gains its class.
    await expect.poll(() => page.locator('#chart-errors .u-legend').textContent(), { timeout: 5_000 }).toContain('service_unavailable');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });
});
