import type { Availability } from '#lock-domain';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, next, ok, refused, request } from './support/clients.js';

describe('zero-configuration mode: in-process store, anonymous clients', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ env: { REDIS_URL: undefined, REDIS_KEY_PREFIX: undefined, JWT_SECRET: undefined } });
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await app.close();
  });

  it('runs without Redis or a JWT key', () => {
    expect(app.config.redisUrl).toBeUndefined();
    expect(app.config.allowAnonymous).toBe(true);
  });

  it('serves the protocol to anonymous clients identified by query.userId or a generated id', async () => {
    const { socket: buyer, hello } = await connect(app.socketUrl, { query: { userId: 'guest-1' } });
    expect(hello.userId).toBe('guest-1');
    const { socket: watcher, hello: generated } = await connect(app.socketUrl);
    expect(generated.userId).toMatch(/^anon-/);
    expect((await refused(app.socketUrl, { query: { userId: 'has spaces' } })).data?.code).toBe('UNAUTHORIZED');

    const snapshot = ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    expect(snapshot.availability).toHaveLength(3);
    const drop = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 1);
    const lock = ok(await request(buyer, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 2 }));
    expect(await drop).toMatchObject({ lockedTickets: 2, availableTickets: 8 });
    expect(await request(buyer, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 1 })).toMatchObject({ code: 'DUPLICATE_LOCK' });
    expect(ok(await request(buyer, 'get-my-locks')).locks.map((l) => l.lockId)).toEqual([lock.lockId]);
    expect(await request(watcher, 'unlock-tickets', { lockId: lock.lockId })).toMatchObject({ code: 'NOT_LOCK_OWNER' });
    expect(ok(await request(buyer, 'unlock-tickets', { lockId: lock.lockId, quantity: 1 }))).toMatchObject({ remainingQuantity: 1, status: 'ACTIVE' });
    expect(ok(await request(buyer, 'extend-lock', { lockId: lock.lockId })).lockId).toBe(lock.lockId);
    expect(ok(await request(buyer, 'unlock-tickets', { eventId: 1, categoryId: 1 }))).toMatchObject({ status: 'RELEASED' });

    const stats = await getJson<{ connections: number; ticketLocks: { locksByStatus: { released: number } } }>(app, '/stats');
    expect(stats.body.connections).toBe(2);
    expect(stats.body.ticketLocks.locksByStatus.released).toBe(1);
  });
});
