/**
 * Headless Chromium for the dashboard's browser tests: Debian's /usr/bin/chromium (or CHROMIUM_PATH)
 * driven by playwright-core, no browser download, in a throw-away profile, with its own background
 * traffic (updates, sync) off.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the dashboard's browser tests need it. Fix: apt-get install -y chromium (or set CHROMIUM_PATH).`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'sy-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
    });
    return {
      context,
      async close() {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** Collects the page's console errors and uncaught exceptions into `into` (a test expects it empty). */
export function collectPageErrors(page: Page, into: string[]): void {
  page.on('console', (message) => {
    if (message.type() === 'error') into.push(message.text());
  });
  page.on('pageerror', (err) => into.push(`pageerror: ${err.message}`));
}
