import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeNamespaceRef } from '../apps/realtime/src/gateway/realtime-namespace.js';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { launchChromium } from './browser/chromium.js';
import { TEST_CATALOG, startApp, type TestApp } from './support/app.js';
import { signToken, sleep } from './support/clients.js';

/**
 * The live demo page (`GET /`) in a real browser: Debian's Chromium driven by playwright-core, against
 * the real service (in-process store, anonymous dev mode). Without Chromium this file fails and says
 * what to install; it never skips.
 */

const ROOT = resolve(import.meta.dirname, '..');
const DOCS_SCREENSHOT = join(ROOT, 'docs/demo-page.png');
const DEMO_CATALOG = JSON.parse(await readFile(join(ROOT, 'catalog/demo-events.json'), 'utf8')) as unknown;

/** The in-process store, anonymous clients allowed (tokens still verified when given), quiet. */
// The e2e JWT key stays configured, so an anonymous page's user is anon-<its userId> (CONTRACT §2 Anonymous mode).
const ANONYMOUS_IN_PROCESS = { REDIS_URL: undefined, WS_ALLOW_ANONYMOUS: 'true' };

let browser: Browser | undefined;
/** Why Chromium could not start: every browser test fails with it (none is skipped), the HTTP ones still run. */
let browserError: unknown;
const contexts: BrowserContext[] = [];
/** Uncaught exceptions and CSP refusals, per page: the page must produce none. */
const pageProblems: string[] = [];

beforeAll(async () => {
  try {
    browser = await launchChromium();
  } catch (error) {
    browserError = error;
  }
});
afterAll(async () => {
  await closeContexts();
  await browser?.close();
});

/** Closes every page first: their open connections would keep the app's HTTP server from closing. */
async function closeContexts(): Promise<void> {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
}

async function openPage(app: TestApp, query: string, viewport = { width: 1200, height: 820 }): Promise<{ page: Page; context: BrowserContext }> {
  if (!browser) throw browserError instanceof Error ? browserError : new Error(`Chromium did not start: ${String(browserError)}`);
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`${query}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) pageProblems.push(`${query}: ${message.text()}`);
  });
  await page.goto(`${app.baseUrl}/${query}`);
  await connected(page);
  return { page, context };
}

const connected = (page: Page, timeout = 10_000) => page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { timeout });

const category = (eventId: string | number, categoryId: string | number) => `[data-testid="category-${eventId}-${categoryId}"]`;

async function available(page: Page, eventId: string | number, categoryId: string | number): Promise<number> {
  const value = await page.locator(category(eventId, categoryId)).getAttribute('data-available');
  return Number(value);
}

function waitAvailable(page: Page, eventId: string | number, categoryId: string | number, n: number, timeout = 5000) {
  return page.waitForSelector(`${category(eventId, categoryId)}[data-available="${n}"]`, { timeout });
}

/** The lockIds of "my holds", newest first. */
async function lockIds(page: Page): Promise<string[]> {
  const items = page.getByTestId('my-locks').getByTestId('lock-item');
  const ids: string[] = [];
  for (let i = 0; i < (await items.count()); i += 1) ids.push((await items.nth(i).getAttribute('data-lock-id')) ?? '');
  return ids;
}

/** Types a quantity, presses Hold and returns the new hold's lockId. */
async function hold(page: Page, eventId: string | number, categoryId: string | number, quantity: number): Promise<string> {
  const known = await lockIds(page);
  await page.getByTestId(`quantity-${eventId}-${categoryId}`).fill(String(quantity));
  await page.getByTestId(`lock-${eventId}-${categoryId}`).click();
  const fresh = page.locator(`[data-testid="lock-item"]${known.map((id) => `:not([data-lock-id="${id}"])`).join('')}`);
  await fresh.waitFor({ timeout: 5000 });
  return (await fresh.getAttribute('data-lock-id'))!;
}

/** Polls `probe` until it returns true. */
async function until(what: string, probe: () => Promise<boolean>, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('demo page: HTTP', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ env: ANONYMOUS_IN_PROCESS });
  });
  afterAll(() => app.close());

  it('serves the page and its files with their content types, and nothing else', async () => {
    const page = await fetch(`${app.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('data-testid="connection-status"');

    for (const [path, type] of [
      ['/demo/demo.js', 'text/javascript; charset=utf-8'],
      ['/demo/demo.css', 'text/css; charset=utf-8'],
      ['/demo/favicon.svg', 'image/svg+xml'],
      ['/demo/socket.io.esm.min.js', 'text/javascript; charset=utf-8'],
    ] as const) {
      const response = await fetch(`${app.baseUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(type);
      expect((await response.arrayBuffer()).byteLength, path).toBeGreaterThan(100);
    }
    expect(await (await fetch(`${app.baseUrl}/demo/socket.io.esm.min.js`)).text()).toContain('export');

    // Only the listed names: no traversal, no other file of the repository or of node_modules.
    for (const path of [
      '/demo/..%2F..%2F..%2Fpackage.json',
      '/demo/%2e%2e%2fpackage.json',
      '/demo/%2e%2e/%2e%2e/package.json',
      '/demo/..%5C..%5Cpackage.json',
      '/demo/index.html',
      '/demo/socket.io.js',
      '/demo/package.json',
      '/demo/',
      '/index.html',
    ]) {
      const response = await fetch(`${app.baseUrl}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain('"dependencies"');
    }
  });

  it('leaves /health, /stats, /events and Socket.IO as they were', async () => {
    expect((await fetch(`${app.baseUrl}/health`)).status).toBe(200);
    const stats = (await (await fetch(`${app.baseUrl}/stats`)).json()) as { service: string };
    expect(stats.service).toBe('realtime-service');
    const events = (await (await fetch(`${app.baseUrl}/events`)).json()) as Array<{ id: unknown }>;
    expect(events.map((event) => event.id)).toEqual(TEST_CATALOG.events.map((event) => event.id));
    expect((await fetch(`${app.baseUrl}/events/1/availability`)).status).toBe(200);
    const handshake = await fetch(`${app.baseUrl}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(await handshake.text()).toMatch(/^0\{"sid":/);
  });
});

describe('demo page in Chromium', () => {
  let app: TestApp;
  let locks: LockService;

  beforeAll(async () => {
    // Locks of the default 5 minutes; the expiry part below has its own app with 3-second locks.
    app = await startApp({ catalog: DEMO_CATALOG, env: ANONYMOUS_IN_PROCESS });
    locks = app.app.get(LockService);
  });
  afterAll(async () => {
    await closeContexts();
    await app.close();
  });

  it("one user's hold moves the other's bar within a second; release restores it; extend keeps it", { timeout: 60_000 }, async () => {
    const { page: alice } = await openPage(app, '?eventId=1&userId=alice');
    const { page: bob } = await openPage(app, '?eventId=1&userId=bob');
    await waitAvailable(bob, 1, 1, 50);
    expect(await alice.getByTestId('user-id').textContent()).toBe('anon-alice');
    expect(await alice.locator('#event-title').textContent()).toBe('Rock Night Live');

    // Alice holds 3 VIP: Bob's bar drops within a second of the click.
    await alice.getByTestId('quantity-1-1').fill('3');
    const clickedAt = Date.now();
    await alice.getByTestId('lock-1-1').click();
    await waitAvailable(bob, 1, 1, 47, 1000);
    expect(Date.now() - clickedAt).toBeLessThan(1000);
    expect(await bob.locator(category(1, 1)).getAttribute('data-locked')).toBe('3');

    const item = alice.getByTestId('my-locks').getByTestId('lock-item');
    await item.waitFor();
    expect(await item.count()).toBe(1);
    const lockId = (await item.getAttribute('data-lock-id'))!;
    expect(lockId).toMatch(/\S/);
    await alice.waitForSelector('[data-testid="notice"][data-kind="locked"]');
    // A live countdown from about 5:00.
    const countdown = alice.getByTestId(`countdown-${lockId}`);
    const first = await countdown.textContent();
    expect(first).toMatch(/^[45]:\d\d$/);
    await until('the countdown to tick', async () => (await countdown.textContent()) !== first, 3000);
    // Bob holds nothing.
    expect(await bob.getByTestId('lock-item').count()).toBe(0);

    // Extend: still held, and said so.
    await alice.getByTestId(`extend-${lockId}`).click();
    await alice.waitForSelector('[data-testid="notice"][data-kind="extended"]');
    expect(await alice.getByTestId('lock-item').count()).toBe(1);

    // Release: gone from Alice's list with a notice, Bob's bar back to 50 within a second.
    const releasedAt = Date.now();
    await alice.getByTestId(`release-${lockId}`).click();
    await waitAvailable(bob, 1, 1, 50, 1000);
    expect(Date.now() - releasedAt).toBeLessThan(1000);
    await alice.waitForSelector(`[data-testid="lock-item"][data-lock-id="${lockId}"]`, { state: 'detached', timeout: 2000 });
    await alice.waitForSelector('[data-testid="notice"][data-kind="released"]');
    await waitAvailable(alice, 1, 1, 50);
    expect(await alice.getByTestId('my-locks-count').textContent()).toBe('0');

    // A refusal is shown, not thrown: more than the category has.
    await alice.getByTestId('quantity-1-1').fill('11');
    await alice.getByTestId('lock-1-1').click();
    const error = await alice.waitForSelector('[data-testid="notice"][data-kind="error"]');
    expect(await error.textContent()).toMatch(/Could not hold 11 × VIP: .*quantity/);
    expect(await alice.getByTestId('lock-item').count()).toBe(0);
  });

  it('reconnects by itself and resyncs the snapshot and "my holds" after missing updates', { timeout: 60_000 }, async () => {
    const { page: alice } = await openPage(app, '?eventId=1&userId=alice-2');
    const { page: bob, context: bobContext } = await openPage(app, '?eventId=1&userId=bob-2');
    const balconyLock = await hold(bob, 1, 3, 2);
    const vip = await available(bob, 1, 1);

    // Bob's network goes away: the server side of his connection is cut and new ones cannot be made.
    await bobContext.setOffline(true);
    const nsp = app.app.get(RealtimeNamespaceRef).get()!;
    for (const socket of nsp.sockets.values()) if (socket.data.userId === 'anon-bob-2') socket.conn.close();
    await bob.waitForSelector('[data-testid="connection-status"]:not([data-state="connected"])', { timeout: 3000 });

    // Meanwhile Alice holds 4 VIP and Bob's balcony hold is released by the service: Bob hears neither.
    await hold(alice, 1, 1, 4);
    await waitAvailable(alice, 1, 1, vip - 4);
    await locks.release(balconyLock, 'released-by-test');
    await sleep(500);
    expect(await available(bob, 1, 1)).toBe(vip);
    expect(await bob.getByTestId('lock-item').count()).toBe(1);

    // Back online: Bob reconnects (with backoff), re-joins and shows the counts and holds of now.
    await bobContext.setOffline(false);
    await connected(bob, 20_000);
    await waitAvailable(bob, 1, 1, vip - 4);
    await bob.waitForSelector(`[data-testid="lock-item"][data-lock-id="${balconyLock}"]`, { state: 'detached' });
    await bob.waitForSelector('[data-testid="notice"][data-kind="ended"]');
    // And is live again.
    const standard = await available(bob, 1, 2);
    await hold(alice, 1, 2, 1);
    await waitAvailable(bob, 1, 2, standard - 1, 1000);
  });

  it('identity: a random anonymous user when none is given, a JWT with ?token=; the first event by default', { timeout: 30_000 }, async () => {
    const { page: guest } = await openPage(app, '');
    expect(new URL(guest.url()).searchParams.get('userId')).toMatch(/^guest-[0-9a-f]{12}$/);
    expect(await guest.getByTestId('user-id').textContent()).toBe(`anon-${new URL(guest.url()).searchParams.get('userId') ?? ''}`);
    expect(await guest.locator('#event-title').textContent()).toBe('Rock Night Live');
    await guest.waitForSelector(category(1, 3));

    const token = await signToken('erin');
    const { page: erin } = await openPage(app, `?eventId=summer-fest-2027&token=${encodeURIComponent(token)}`);
    await erin.getByTestId('user-id').filter({ hasText: /^erin$/ }).waitFor();
    expect(new URL(erin.url()).searchParams.has('userId')).toBe(false);
    await erin.waitForSelector(category('summer-fest-2027', 'backstage'));
    expect(await erin.locator('#event-title').textContent()).toBe('Summer Fest 2027');

    // Switching the event in place.
    await erin.getByTestId('event-select').selectOption('42');
    await erin.waitForSelector(category(42, 'A'));
    expect(await erin.locator(category('summer-fest-2027', 'backstage')).count()).toBe(0);
    expect(new URL(erin.url()).searchParams.get('eventId')).toBe('42');
  });

  it('looks good: a screenshot of a busy page', { timeout: 60_000 }, async () => {
    // Some tickets sold and some held by other buyers, so every bar shows its three parts.
    const sell = async (categoryId: number, quantity: number) => {
      for (let left = quantity; left > 0; left -= 10) {
        const lock = await locks.lock({ eventId: 1, categoryId, hold: { kind: 'quantity', quantity: Math.min(10, left) }, userId: 'box-office', sessionId: 'box-office' });
        await locks.confirm(lock.lockId, `order-${lock.lockId.slice(0, 8)}`);
      }
    };
    await sell(1, 31);
    await sell(2, 212);
    await sell(3, 64);
    await locks.lock({ eventId: 1, categoryId: 2, hold: { kind: 'quantity', quantity: 6 }, userId: 'someone-else', sessionId: 'elsewhere' });

    const { page } = await openPage(app, '?eventId=1&userId=maya');
    await hold(page, 1, 1, 2);
    await hold(page, 1, 3, 4);
    await page.waitForSelector('[data-testid="notice"][data-kind="locked"]');
    await sleep(900); // bar transitions and the change highlight

    const dir = await mkdtemp(join(tmpdir(), 'demo-page-'));
    const shot = join(dir, 'demo-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await readFile(shot)).subarray(1, 4).toString()).toBe('PNG');
    expect((await stat(shot)).size).toBeGreaterThan(10_000);

    const phone = await openPage(app, '?eventId=1&userId=maya', { width: 390, height: 844 });
    await phone.page.waitForSelector('[data-testid="lock-item"]');
    await phone.page.screenshot({ path: join(dir, 'demo-page-phone.png'), fullPage: true });
    // Nothing wider than the phone's screen.
    expect(await phone.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    // The README's picture: refreshed with UPDATE_DEMO_SCREENSHOT=1 (and made when missing), not on every run.
    if (process.env.UPDATE_DEMO_SCREENSHOT === '1' || !existsSync(DOCS_SCREENSHOT)) {
      await mkdir(dirname(DOCS_SCREENSHOT), { recursive: true });
      await writeFile(DOCS_SCREENSHOT, await readFile(shot));
    }
  });

});

describe('demo page in Chromium: expiry', () => {
  let app: TestApp;

  beforeAll(async () => {
    // 3-second locks, a sweep every 1.2 s.
    app = await startApp({ env: { ...ANONYMOUS_IN_PROCESS, LOCK_DURATION_MINUTES: '0.05', CLEANUP_INTERVAL_MINUTES: '0.02' } });
  });
  afterAll(async () => {
    await closeContexts();
    await app.close();
  });

  it('an expiring hold counts down, leaves "my holds" with a notice, and the tickets come back', { timeout: 30_000 }, async () => {
    const { page } = await openPage(app, '?eventId=fest-2027&userId=dana');
    await waitAvailable(page, 'fest-2027', 'early-bird', 20);
    const lockId = await hold(page, 'fest-2027', 'early-bird', 2);
    await waitAvailable(page, 'fest-2027', 'early-bird', 18);
    expect(await page.getByTestId(`countdown-${lockId}`).textContent()).toMatch(/^0:0[0-3]$/);

    await page.waitForSelector(`[data-testid="lock-item"][data-lock-id="${lockId}"]`, { state: 'detached', timeout: 8000 });
    const notice = await page.waitForSelector('[data-testid="notice"][data-kind="expired"]', { timeout: 2000 });
    expect(await notice.textContent()).toContain('2 × Early Bird expired');
    await waitAvailable(page, 'fest-2027', 'early-bird', 20, 2000);
    expect(await page.getByTestId('my-locks-empty').isVisible()).toBe(true);
  });
});

describe('demo page: the browser side', () => {
  it('raised no page errors and no Content-Security-Policy refusals', () => {
    expect(pageProblems).toEqual([]);
  });
});
