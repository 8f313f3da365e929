import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser/chromium.js';
import { startApp, type TestApp } from './support/app.js';

/**
 * The demo page with a waiting room (CONTRACT §7) in a real browser (Debian's Chromium, like
 * demo.e2e-spec.ts; fails without it, never skips): one admission at a time, so the second buyer
 * sees their place, the people ahead and the estimate, then switches to the hold view when the
 * first gives their turn up.
 */
const CATALOG = {
  events: [
    {
      id: 'flash',
      name: 'Flash Sale',
      waitingRoom: { admitPerMinute: 600, maxActiveUsers: 1, admissionMinutes: 10 },
      categories: [{ categoryId: 'ga', name: 'General Admission', totalTickets: 100 }],
    },
  ],
};

describe('demo page: waiting room', () => {
  let app: TestApp;
  let browser: Browser | undefined;
  let browserError: unknown;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    app = await startApp({ catalog: CATALOG, env: { REDIS_URL: undefined, WS_ALLOW_ANONYMOUS: 'true', JWT_SECRET: undefined } });
    try {
      browser = await launchChromium();
    } catch (error) {
      browserError = error;
    }
  });
  afterAll(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    await browser?.close();
    await app?.close();
  });

  async function open(userId: string): Promise<Page> {
    if (!browser) throw browserError instanceof Error ? browserError : new Error(`Chromium did not start: ${String(browserError)}`);
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`${userId}: ${error.message}`));
    await page.goto(`${app.baseUrl}/?eventId=flash&userId=${userId}`);
    await page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { timeout: 10_000 });
    return page;
  }

  it('the second buyer waits with place, people ahead and estimate, then gets the hold view when the first is done', async () => {
    const first = await open('demo-first');
    // First in line: admitted within a tick, the hold view.
    await first.waitForSelector('[data-testid="queue"][data-state="admitted"]', { timeout: 5000 });
    expect(await first.locator('body').getAttribute('data-view')).toBe('hold');
    await first.getByTestId('lock-flash-ga').waitFor({ state: 'visible' });

    const second = await open('demo-second');
    await second.waitForSelector('[data-testid="queue"][data-state="waiting"]', { timeout: 5000 });
    expect(await second.locator('body').getAttribute('data-view')).toBe('queue');
    expect(await second.getByTestId('queue-position').textContent()).toBe('2');
    expect(await second.getByTestId('queue-ahead').textContent()).toBe('0');
    expect(await second.getByTestId('queue-estimate').textContent()).toBe('0:01');
    expect(await second.getByTestId('lock-flash-ga').isVisible()).toBe(false);
    // Live counts stay visible while waiting.
    await second.waitForSelector('[data-testid="category-flash-ga"][data-available="100"]');

    // The first buyer holds, then gives the turn up: the second is let in and can hold.
    await first.getByTestId('quantity-flash-ga').fill('2');
    await first.getByTestId('lock-flash-ga').click();
    await first.waitForSelector('[data-testid="lock-item"]', { timeout: 5000 });
    await first.getByTestId('queue-leave').click();
    await second.waitForSelector('[data-testid="queue"][data-state="admitted"]', { timeout: 5000 });
    expect(await second.locator('body').getAttribute('data-view')).toBe('hold');
    // A 10-minute admission counting down (within its first minute: the page may be slow to paint on a
    // busy machine; never above 10:00, the page's clock follows the server's).
    expect(await second.getByTestId('queue-note').textContent()).toMatch(/Your turn ends in (9:[0-5]\d|10:00)\./);
    await second.getByTestId('quantity-flash-ga').fill('1');
    await second.getByTestId('lock-flash-ga').click();
    await second.waitForSelector('[data-testid="lock-item"]', { timeout: 5000 });
    await second.waitForSelector('[data-testid="category-flash-ga"][data-available="97"]', { timeout: 5000 });
    expect(problems).toEqual([]);
  });
});
