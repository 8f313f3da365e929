import type { Availability, Lock } from '#lock-domain';
import type { LockNotification } from '#contracts';
import { describe, expect, it } from 'vitest';
import { getJson, type TestApp, useApp } from './support/app.js';
import { connect, next, ok, request, requestByResponse } from './support/clients.js';
import { anyString, anyNumber } from './support/matchers.js';

/** The current counts of one category, read over HTTP. */
async function counts(app: TestApp, eventId: string | number, categoryId: string | number): Promise<Availability> {
  const { body } = await getJson<Availability[]>(app, `/events/${eventId}/availability`);
  const entry = body.find((a) => String(a.categoryId) === String(categoryId));
  if (!entry) throw new Error(`no category ${categoryId}`);
  return entry;
}

describe('realtime protocol', () => {
  const app = useApp();

  it('join-event-room answers with a snapshot of every category, in the catalog id form', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'snap' });
    const answer = ok(await request(socket, 'join-event-room', { eventId: '1' }));
    expect(answer.eventId).toBe(1);
    expect(answer.room).toBe('event:1');
    expect(answer.availability.map((a) => a.categoryId)).toEqual([1, 2, 3]);
    const vip = answer.availability[0];
    expect(vip).toMatchObject({ eventId: 1, categoryId: 1, totalTickets: 10, availableTickets: 10, lockedTickets: 0, soldTickets: 0 });
    expect(vip?.version).toEqual(anyNumber());
    expect(Date.parse(vip?.timestamp ?? '')).not.toBeNaN();
  });

  it('lock-tickets: a second client in the room sees the drop', async () => {
    const { socket: buyer } = await connect(app.socketUrl, { userId: 'buyer-1' });
    const { socket: watcher } = await connect(app.socketUrl, { userId: 'watcher-1' });
    const snapshot = ok(await request(watcher, 'join-event-room', { eventId: 'fest-2027' }));
    const before = snapshot.availability.find((a) => a.categoryId === 'early-bird');
    const update = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 'early-bird');

    const lock = ok(await request(buyer, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 3 }));
    expect(lock).toMatchObject({ eventId: 'fest-2027', categoryId: 'early-bird', quantity: 3, status: 'ACTIVE' });
    expect(lock.lockId).toEqual(anyString());
    expect(lock.expiresInSeconds).toBeGreaterThan(0);
    expect(Date.parse(lock.expiresAt)).toBeGreaterThan(Date.now());

    const seen = await update;
    expect(seen).toMatchObject({ eventId: 'fest-2027', categoryId: 'early-bird', availableTickets: (before?.availableTickets ?? 0) - 3, lockedTickets: 3 });
    expect(seen.version).toBeGreaterThan(before?.version ?? Infinity);
    ok(await request(buyer, 'unlock-tickets', { lockId: lock.lockId }));
  });

  it('answers both ways: the ack and <event>-response carry the same payload', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'both-ways' });
    const viaResponse = new Promise<unknown>((resolve) => socket.once('lock-tickets-response', resolve));
    const viaAck = await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 });
    expect(await viaResponse).toEqual(viaAck);
    const lockId = ok(viaAck).lockId;

    // Without an ack, the -response event alone answers; get-my-locks answers on my-locks-response.
    const mine = ok(await requestByResponse(socket, 'get-my-locks', {}));
    expect(mine.locks.map((l) => l.lockId)).toContain(lockId);
    const beat = ok(await requestByResponse(socket, 'heartbeat'));
    expect(Date.parse(beat.timestamp)).not.toBeNaN();

    // Failures travel the same two ways.
    const failureResponse = new Promise<unknown>((resolve) => socket.once('extend-lock-response', resolve));
    const failure = await request(socket, 'extend-lock', { lockId: 'no-such-lock' });
    expect(failure).toEqual({ success: false, code: 'LOCK_NOT_FOUND', message: anyString() });
    expect(await failureResponse).toEqual(failure);
    ok(await request(socket, 'unlock-tickets', { lockId }));
  });

  it('unlock-tickets by lockId and by event/category, with the owner told lock-released', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'unlocker' });
    const first = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 2 }));
    const released = next<LockNotification>(socket, 'lock-released', (n) => n.lockId === first.lockId);
    expect(ok(await request(socket, 'unlock-tickets', { lockId: first.lockId }))).toEqual({
      success: true,
      lockId: first.lockId,
      releasedQuantity: 2,
      remainingQuantity: 0,
      status: 'RELEASED',
    });
    expect(await released).toMatchObject({ lockId: first.lockId, eventId: 1, categoryId: 2, quantity: 2, status: 'RELEASED' });

    const second = ok(await request(socket, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 1 }));
    const byCategory = ok(await request(socket, 'unlock-tickets', { eventId: 'fest-2027', categoryId: 'backstage' }));
    expect(byCategory).toMatchObject({ lockId: second.lockId, releasedQuantity: 1, remainingQuantity: 0, status: 'RELEASED' });
    expect((await counts(app, 'fest-2027', 'backstage')).lockedTickets).toBe(0);
  });

  it('partial unlock keeps the lock ACTIVE with fewer tickets', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'partial' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 5 }));
    const before = await counts(app, 1, 1);
    const answer = ok(await request(socket, 'unlock-tickets', { lockId: lock.lockId, quantity: 2 }));
    expect(answer).toMatchObject({ lockId: lock.lockId, releasedQuantity: 2, remainingQuantity: 3, status: 'ACTIVE' });
    const after = await counts(app, 1, 1);
    expect(after.lockedTickets).toBe(before.lockedTickets - 2);
    const mine = ok(await request(socket, 'get-my-locks', {}));
    expect(mine.locks.find((l) => l.lockId === lock.lockId)).toMatchObject({ quantity: 3, status: 'ACTIVE' });
    // More than held is refused and changes nothing.
    const tooMany = await request(socket, 'unlock-tickets', { lockId: lock.lockId, quantity: 4 });
    expect(tooMany).toMatchObject({ success: false, code: 'VALIDATION_FAILED' });
    expect((await counts(app, 1, 1)).lockedTickets).toBe(after.lockedTickets);
    ok(await request(socket, 'unlock-tickets', { eventId: 1, categoryId: 1 }));
  });

  it('extend-lock moves expiresAt forward and never changes counts', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'extender' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 }));
    const before = await counts(app, 1, 3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const extended = ok(await request(socket, 'extend-lock', { lockId: lock.lockId }));
    expect(extended.lockId).toBe(lock.lockId);
    expect(Date.parse(extended.expiresAt)).toBeGreaterThan(Date.parse(lock.expiresAt));
    expect(extended.expiresInSeconds).toBeGreaterThan(0);
    expect(await counts(app, 1, 3)).toMatchObject({ lockedTickets: before.lockedTickets, version: before.version });
    ok(await request(socket, 'unlock-tickets', { lockId: lock.lockId }));
  });

  it('refuses a second lock in the same category (DUPLICATE_LOCK), changing nothing', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'dup' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 }));
    const before = await counts(app, 1, 3);
    expect(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 })).toMatchObject({ success: false, code: 'DUPLICATE_LOCK' });
    expect(await counts(app, 1, 3)).toMatchObject({ lockedTickets: before.lockedTickets, version: before.version });
    ok(await request(socket, 'unlock-tickets', { lockId: lock.lockId }));
  });

  it('refuses more than is available (INSUFFICIENT_TICKETS)', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'greedy' });
    const { socket: other } = await connect(app.socketUrl, { userId: 'greedy-2' });
    const held = ok(await request(other, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 2 }));
    expect(await request(socket, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 1 })).toMatchObject({
      success: false,
      code: 'INSUFFICIENT_TICKETS',
    });
    ok(await request(other, 'unlock-tickets', { lockId: held.lockId }));
  });

  it('refuses an unknown event or category', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'lost' });
    expect(await request(socket, 'lock-tickets', { eventId: 999, categoryId: 1, quantity: 1 })).toMatchObject({ success: false, code: 'EVENT_NOT_FOUND' });
    expect(await request(socket, 'join-event-room', { eventId: 'nope' })).toMatchObject({ success: false, code: 'EVENT_NOT_FOUND' });
    expect(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 99, quantity: 1 })).toMatchObject({ success: false, code: 'CATEGORY_NOT_FOUND' });
  });

  it('leave-event-room stops the updates', async () => {
    const { socket: watcher } = await connect(app.socketUrl, { userId: 'leaver' });
    const { socket: buyer } = await connect(app.socketUrl, { userId: 'leaver-buyer' });
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    expect(ok(await request(watcher, 'leave-event-room', { eventId: 1 }))).toEqual({ success: true, eventId: 1 });
    let updates = 0;
    watcher.on('availability-update', () => (updates += 1));
    const lock = ok(await request(buyer, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 }));
    ok(await request(buyer, 'unlock-tickets', { lockId: lock.lockId }));
    // A round trip on the watcher's own connection after the broadcasts: nothing arrived before it.
    ok(await request(watcher, 'heartbeat', {}));
    expect(updates).toBe(0);
  });

  it('refuses a payload userId other than the authenticated user (FORBIDDEN), changing nothing', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'honest' });
    const before = await counts(app, 1, 2);
    expect(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1, userId: 'victim' })).toMatchObject({
      success: false,
      code: 'FORBIDDEN',
    });
    expect(await request(socket, 'get-my-locks', { userId: 'victim' })).toMatchObject({ success: false, code: 'FORBIDDEN' });
    expect(await counts(app, 1, 2)).toMatchObject({ lockedTickets: before.lockedTickets, version: before.version });
    // Its own id is fine.
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1, userId: 'honest' }));
    ok(await request(socket, 'unlock-tickets', { lockId: lock.lockId, userId: 'honest' }));
  });

  it("refuses to unlock or extend another user's lock (NOT_LOCK_OWNER)", async () => {
    const { socket: owner } = await connect(app.socketUrl, { userId: 'owner' });
    const { socket: thief } = await connect(app.socketUrl, { userId: 'thief' });
    const lock = ok(await request(owner, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 2 }));
    expect(await request(thief, 'unlock-tickets', { lockId: lock.lockId })).toMatchObject({ success: false, code: 'NOT_LOCK_OWNER' });
    expect(await request(thief, 'extend-lock', { lockId: lock.lockId })).toMatchObject({ success: false, code: 'NOT_LOCK_OWNER' });
    const mine = ok(await request(owner, 'get-my-locks'));
    expect(mine.locks.find((l) => l.lockId === lock.lockId)?.status).toBe('ACTIVE');
    ok(await request(owner, 'unlock-tickets', { lockId: lock.lockId }));
  });

  it('get-my-locks lists the ACTIVE locks of every session of the user', async () => {
    const { socket: tab1 } = await connect(app.socketUrl, { userId: 'two-tabs' });
    const { socket: tab2 } = await connect(app.socketUrl, { userId: 'two-tabs' });
    const a = ok(await request(tab1, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 1 }));
    const b = ok(await request(tab2, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    const locks: Lock[] = ok(await request(tab1, 'get-my-locks')).locks;
    expect(locks.map((l) => l.lockId).sort()).toEqual([a.lockId, b.lockId].sort());
    expect(locks.find((l) => l.lockId === b.lockId)).toMatchObject({ userId: 'two-tabs', sessionId: tab2.id, status: 'ACTIVE' });
    ok(await request(tab1, 'unlock-tickets', { lockId: a.lockId }));
    ok(await request(tab2, 'unlock-tickets', { lockId: b.lockId }));
  });

  it('a retried lock-tickets with the same requestId returns the first answer', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'retrier' });
    const [first, second] = await Promise.all([
      request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 2, requestId: 'req-1' }),
      request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 2, requestId: 'req-1' }),
    ]);
    expect(ok(second).lockId).toBe(ok(first).lockId);
    expect(ok(second).expiresAt).toBe(ok(first).expiresAt);
    expect(ok(await request(socket, 'get-my-locks')).locks).toHaveLength(1);
    ok(await request(socket, 'unlock-tickets', { lockId: ok(first).lockId }));
  });

  it('tells every tab of the owner, and counts a confirm as sold (lock-confirmed)', async () => {
    const { socket: tab1 } = await connect(app.socketUrl, { userId: 'confirmer' });
    const { socket: tab2 } = await connect(app.socketUrl, { userId: 'confirmer' });
    const lock = ok(await request(tab1, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 2 }));
    const onTab2 = next<LockNotification>(tab2, 'lock-confirmed', (n) => n.lockId === lock.lockId);
    const { LockService } = await import('../apps/realtime/src/locks/lock.service.js');
    // Orders confirms over RabbitMQ; the use case is the same.
    await app.app.get(LockService).confirm(lock.lockId, 'order-1');
    expect(await onTab2).toEqual({ lockId: lock.lockId, eventId: 'fest-2027', categoryId: 'early-bird', quantity: 2, status: 'CONFIRMED' });
  });
});
