import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { launchChromium } from './browser/chromium.js';
import { startApp, type TestApp } from './support/app.js';

/**
 * The demo page's seat map (CONTRACT §6) in Chromium, on the demo catalog's cinema (`cinema-1`, hall
 * of 8 rows × 12 seats with an aisle of blocked seats): pick seats and hold them, watch another
 * buyer's holds appear live, best available through the category's Hold button, release.
 */
const ROOT = resolve(import.meta.dirname, '..');
const DEMO_CATALOG = JSON.parse(await readFile(join(ROOT, 'catalog/demo-events.json'), 'utf8')) as unknown;

let browser: Browser | undefined;
let browserError: unknown;
const contexts: BrowserContext[] = [];
const pageProblems: string[] = [];

async function openPage(app: TestApp, query: string): Promise<Page> {
  if (!browser) throw browserError instanceof Error ? browserError : new Error(`Chromium did not start: ${String(browserError)}`);
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`${query}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) pageProblems.push(`${query}: ${message.text()}`);
  });
  await page.goto(`${app.baseUrl}/${query}`);
  await page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { timeout: 10_000 });
  await page.waitForSelector('[data-testid="seat-map"]:not([hidden])', { timeout: 5000 });
  return page;
}

const seat = (id: string, extra = '') => `[data-testid="seat-${id}"]${extra}`;

describe('demo page seat map in Chromium', () => {
  let app: TestApp;

  beforeAll(async () => {
    try {
      browser = await launchChromium();
    } catch (error) {
      browserError = error;
    }
    app = await startApp({ catalog: DEMO_CATALOG, env: { REDIS_URL: undefined, WS_ALLOW_ANONYMOUS: 'true' } });
  });
  afterAll(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    await browser?.close();
    await app?.close();
  });

  it('pick seats and hold them; the other buyer sees them held within a second; best available; release frees them', { timeout: 60_000 }, async () => {
    const alice = await openPage(app, '?eventId=cinema-1&userId=alice-seats');
    const bob = await openPage(app, '?eventId=cinema-1&userId=bob-seats');
    expect(await alice.locator(seat('E6')).getAttribute('data-status')).toBe('blocked');
    expect(await alice.locator(seat('A-aisle')).getAttribute('data-status')).toBe('blocked');
    expect(await alice.getByTestId('hold-seats').isDisabled()).toBe(true);

    // Alice picks D5 and D6 and holds them.
    await alice.locator(seat('D5')).click();
    await alice.locator(seat('D6')).click();
    expect(await alice.getByTestId('seats-picked').textContent()).toBe('2 seats: D5, D6');
    const clickedAt = Date.now();
    await alice.getByTestId('hold-seats').click();
    await alice.waitForSelector(seat('D5', '[data-status="held"][data-mine="true"]'), { timeout: 3000 });
    await alice.waitForSelector(seat('D6', '[data-status="held"][data-mine="true"]'), { timeout: 3000 });
    await bob.waitForSelector(seat('D6', '[data-status="held"][data-mine="false"]'), { timeout: 1000 });
    expect(Date.now() - clickedAt).toBeLessThan(2000);
    const aliceLock = await alice.getByTestId('lock-item').getAttribute('data-lock-id');
    expect(aliceLock).toMatch(/\S/);
    // A held seat cannot be picked by Bob.
    expect(await bob.locator(seat('D5')).isDisabled()).toBe(true);

    // Bob: best available, 2 seats, through the category's Hold button: the centre of row A (A6 | aisle | A7 would be split).
    await bob.getByTestId('quantity-cinema-1-hall').fill('2');
    await bob.getByTestId('lock-cinema-1-hall').click();
    await bob.waitForSelector('[data-testid="lock-item"]', { timeout: 3000 });
    await bob.waitForSelector(seat('A5', '[data-mine="true"]'), { timeout: 3000 });
    await bob.waitForSelector(seat('A6', '[data-mine="true"]'), { timeout: 3000 });
    expect(await bob.locator('[data-mine="true"]').count()).toBe(2);
    await alice.waitForSelector(seat('A5', '[data-status="held"][data-mine="false"]'), { timeout: 1000 });

    // Alice releases: Bob sees D5/D6 free again.
    await alice.getByTestId(`release-${aliceLock}`).click();
    await bob.waitForSelector(seat('D5', '[data-status="available"]'), { timeout: 2000 });
    await bob.waitForSelector(seat('D6', '[data-status="available"]'), { timeout: 2000 });
    expect(await alice.locator('[data-mine="true"]').count()).toBe(0);

    // The server agrees with the pages.
    const map = await app.app.get(LockService).seatMap('cinema-1');
    const held = map.categories[0]?.rows.flatMap((r) => r.seats).filter((s) => s.status === 'held').map((s) => s.seatId);
    expect(held).toEqual(['A5', 'A6']);
    expect(pageProblems).toEqual([]);
  });
});
