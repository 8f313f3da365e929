import type { Availability } from '#lock-domain';
import type { LockNotification } from '#contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { dropKeys, getJson, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, next, ok, request } from './support/clients.js';
import { uniqueName } from './support/services.js';

const GRACE_MS = 1000;

/** What a client on one instance must see of what happens on another (Socket.IO Redis adapter). */
describe('two instances sharing Redis act as one service', () => {
  const prefix = uniqueName('e2e-cluster');
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: prefix, DISCONNECT_GRACE_SECONDS: String(GRACE_MS / 1000) };
    [a, b] = [await startApp({ env }), await startApp({ env })];
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await dropKeys(prefix);
  });

  it('a room member on one instance sees availability changes made on the other', async () => {
    const { socket: watcher } = await connect(b.socketUrl, { userId: 'watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    const { socket: buyer } = await connect(a.socketUrl, { userId: 'buyer' });
    const seen = next<Availability>(watcher, 'availability-update', (u) => u.categoryId === 3 && u.lockedTickets === 2);
    const lock = ok(await request(buyer, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 2 }));
    expect(await seen).toMatchObject({ eventId: 1, categoryId: 3, totalTickets: 1000, availableTickets: 998 });
    ok(await request(buyer, 'unlock-tickets', { lockId: lock.lockId }));
  });

  it("the owner's tabs on the other instance hear about the owner's locks", async () => {
    const { socket: here } = await connect(a.socketUrl, { userId: 'owner' });
    const { socket: there } = await connect(b.socketUrl, { userId: 'owner' });
    const lock = ok(await request(here, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 1 }));
    const released = next<LockNotification>(there, 'lock-released', (n) => n.lockId === lock.lockId);
    ok(await request(here, 'unlock-tickets', { lockId: lock.lockId }));
    expect(await released).toMatchObject({ lockId: lock.lockId, status: 'RELEASED' });
  });

  it('GET /stats counts the connections of both instances', async () => {
    await connect(a.socketUrl, { userId: 'counted-1' });
    await connect(b.socketUrl, { userId: 'counted-1' });
    await connect(b.socketUrl, { userId: 'counted-2' });
    for (const app of [a, b]) {
      expect((await getJson<{ connections: number; connectedUsers: number }>(app, '/stats')).body).toMatchObject({ connections: 3, connectedUsers: 2 });
    }
  });

  it('keeps the locks of a user who reconnects to the other instance within the grace period', async () => {
    const { socket } = await connect(a.socketUrl, { userId: 'mover' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 1 }));
    // A control user on the same instance: its release marks the end of the grace period.
    const { socket: watcher } = await connect(a.socketUrl, { userId: 'mover-watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    const { socket: control } = await connect(a.socketUrl, { userId: 'leaver' });
    ok(await request(control, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    const controlReleased = next<Availability>(watcher, 'availability-update', (u) => u.categoryId === 2 && u.lockedTickets === 0);

    socket.disconnect();
    control.disconnect();
    const { socket: moved } = await connect(b.socketUrl, { userId: 'mover' });
    await controlReleased;
    expect((await a.app.get(LockService).get(lock.lockId))?.status).toBe('ACTIVE');
    ok(await request(moved, 'unlock-tickets', { lockId: lock.lockId }));
  });

  it("a lock made on one instance is released one grace after the user's last tab, on the other instance, closes", async () => {
    const { socket: watcher } = await connect(a.socketUrl, { userId: 'two-instances-watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 'fest-2027' }));
    const { socket: tabA } = await connect(a.socketUrl, { userId: 'two-instances' });
    const { socket: tabB } = await connect(b.socketUrl, { userId: 'two-instances' });
    const lock = ok(await request(tabA, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 1 }));
    const released = next<Availability>(watcher, 'availability-update', (u) => u.categoryId === 'backstage' && u.lockedTickets === 0);
    tabA.disconnect();
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS * 1.5));
    expect((await a.app.get(LockService).get(lock.lockId))?.status).toBe('ACTIVE');
    const closedB = Date.now();
    tabB.disconnect();
    await released;
    expect(Date.now() - closedB).toBeGreaterThanOrEqual(GRACE_MS - 20);
    expect(await a.app.get(LockService).get(lock.lockId)).toMatchObject({ status: 'RELEASED', reason: 'disconnected' });
  });
});
