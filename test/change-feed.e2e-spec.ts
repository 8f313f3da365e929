import type { Availability } from '#lock-domain';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropKeys, startApp, type TestApp } from './support/app.js';
import { closeAll, collect, connect, next, ok, request, sleep } from './support/clients.js';
import { TEST_REDIS_URL, uniqueName } from './support/services.js';
import { TcpProxy } from './support/tcp-proxy.js';

const INTERVAL_MS = 500;

/**
 * Each instance hears the other's changes through the store's change feed (the lock scripts
 * PUBLISH them) and tells only its own clients. B reaches Redis through a proxy the test can cut.
 */
describe('two instances: changes travel through the store, each instance tells its own clients', () => {
  const prefix = uniqueName('e2e-feed');
  let a: TestApp;
  let b: TestApp;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const front = await TcpProxy.inFrontOf(TEST_REDIS_URL, 6379);
    proxy = front.proxy;
    const env = { REDIS_KEY_PREFIX: prefix, BROADCAST_INTERVAL_MS: String(INTERVAL_MS) };
    a = await startApp({ env });
    b = await startApp({ env: { ...env, REDIS_URL: front.url } });
  });
  afterEach(() => {
    proxy.restore();
    closeAll();
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await proxy?.stop();
    await dropKeys(prefix);
  });

  it('a burst made on both instances reaches a watcher as one update per interval, not one per instance', async () => {
    const { socket: watcher } = await connect(b.socketUrl, { userId: 'feed-watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    const arrivals: { at: number; update: Availability }[] = [];
    watcher.on('availability-update', (update) => {
      if (update.categoryId === 3) arrivals.push({ at: performance.now(), update });
    });
    const buyers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => connect(i % 2 === 0 ? a.socketUrl : b.socketUrl, { userId: `feed-buyer-${i}` })),
    );
    const final = next<Availability>(watcher, 'availability-update', (u) => u.categoryId === 3 && u.lockedTickets === 20);
    const answers = await Promise.all(buyers.map(({ socket }) => request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 })));
    expect(answers.every((answer) => answer.success)).toBe(true);
    await final;
    await sleep(INTERVAL_MS * 1.5); // a later update would break the rule below too

    expect(arrivals.at(-1)?.update).toMatchObject({ lockedTickets: 20, availableTickets: 980 });
    for (let i = 1; i < arrivals.length; i++) {
      const [before, after] = [arrivals[i - 1], arrivals[i]];
      if (!before || !after) continue;
      // Per-instance coalescing would deliver A's first update and B's first update back to back.
      expect(after.at - before.at).toBeGreaterThan(INTERVAL_MS * 0.8);
      expect(after.update.version).toBeGreaterThan(before.update.version);
    }
  });

  it('after its feed was cut, an instance re-reads the counts its watchers missed', async () => {
    const { socket: watcher } = await connect(b.socketUrl, { userId: 'gap-watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    const updates = collect<Availability>(watcher, 'availability-update');
    const { socket: buyer } = await connect(a.socketUrl, { userId: 'gap-buyer' });

    proxy.cut();
    ok(await request(buyer, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 3 }));
    await sleep(300);
    // The announcement went out while B was not listening: nothing arrived.
    expect(updates.filter((u) => u.categoryId === 2)).toEqual([]);

    const resynced = next<Availability>(watcher, 'availability-update', (u) => u.categoryId === 2);
    proxy.restore();
    expect(await resynced).toMatchObject({ eventId: 1, categoryId: 2, lockedTickets: 3, availableTickets: 97 });
  });
});
