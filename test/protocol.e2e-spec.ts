import type { Availability, Lock } from '#lock-domain';
import type { LockNotification } from '#contracts';
import { describe, expect, it } from 'vitest';
import { getJson, type TestApp, useApp } from './support/app.js';
import { collect, connect, next, ok, request, requestByResponse, type TestSocket } from './support/clients.js';
import { anyString, anyNumber } from './support/matchers.js';

/** The current counts of one category, read over HTTP. */
async function counts(app: TestApp, eventId: string | number, categoryId: string | number): Promise<Availability> {
  const { body } = await getJson<Availability[]>(app, `/events/${eventId}/availability`);
  const entry = body.find((a) => String(a.categoryId) === String(categoryId));
  if (!entry) throw new Error(`no category ${categoryId}`);
  return entry;
}

/** Every `<event>-response` the socket receives from now on, with its event name. */
function collectResponses(socket: TestSocket): Array<[string, unknown]> {
  const seen: Array<[string, unknown]> = [];
  socket.onAny((event: string, payload: unknown) => {
    if (event.endsWith('-response')) seen.push([event, payload]);
  });
  return seen;
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

  it('greets with connected { success: true, sessionId, userId, serverTime, message }', async () => {
    const { socket, hello } = await connect(app.socketUrl, { userId: 'greeted' });
    expect(hello).toEqual({ success: true, sessionId: socket.id, userId: 'greeted', serverTime: anyString(), message: anyString() });
    expect(Date.parse(hello.serverTime)).not.toBeNaN();
  });

  it('answers once: on the ack when the client passes one, with no <event>-response besides', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'ack-only' });
    const responses = collectResponses(socket);
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 }));
    expect(await request(socket, 'extend-lock', { lockId: 'no-such-lock' })).toEqual({ success: false, code: 'LOCK_NOT_FOUND', message: anyString() });
    ok(await request(socket, 'get-my-locks'));
    ok(await request(socket, 'unlock-tickets', { lockId: lock.lockId }));
    // Anything sent after the answers would have arrived before this one's answer (one ordered socket).
    ok(await request(socket, 'heartbeat'));
    expect(responses).toEqual([]);
  });

  it('answers once: on <event>-response when the client passes no ack (seed clients)', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'event-only' });
    const responses = collectResponses(socket);
    const lock = ok(await requestByResponse(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 }));
    const mine = ok(await requestByResponse(socket, 'get-my-locks', {}));
    expect(mine.locks.map((l) => l.lockId)).toContain(lock.lockId);
    expect(await requestByResponse(socket, 'extend-lock', { lockId: 'no-such-lock' })).toMatchObject({ success: false, code: 'LOCK_NOT_FOUND' });
    ok(await requestByResponse(socket, 'unlock-tickets', { lockId: lock.lockId }));
    ok(await requestByResponse(socket, 'heartbeat'));
    expect(responses.map(([event]) => event)).toEqual([
      'lock-tickets-response',
      'my-locks-response',
      'extend-lock-response',
      'unlock-tickets-response',
      'heartbeat-response',
    ]);
  });

  it.each([
    ['auth.answers', { auth: { answers: 'both' } }],
    ['query answers', { query: { answers: 'both' } }],
  ])('answers both ways when the handshake asks (%s = "both"): the ack and <event>-response carry the same payload', async (_how, extra) => {
    const { socket } = await connect(app.socketUrl, { userId: `both-ways-${_how.length}`, ...extra });
    const viaResponse = new Promise<unknown>((resolve) => socket.once('lock-tickets-response', resolve));
    const viaAck = await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 });
    expect(await viaResponse).toEqual(viaAck);

    const failureResponse = new Promise<unknown>((resolve) => socket.once('extend-lock-response', resolve));
    const failure = await request(socket, 'extend-lock', { lockId: 'no-such-lock' });
    expect(failure).toEqual({ success: false, code: 'LOCK_NOT_FOUND', message: anyString() });
    expect(await failureResponse).toEqual(failure);
    ok(await request(socket, 'unlock-tickets', { lockId: ok(viaAck).lockId }));
  });

  it("unlock-tickets by lockId and by event/category; the owner's other tab hears lock-released, the requesting socket does not", async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'unlocker' });
    const { socket: otherTab } = await connect(app.socketUrl, { userId: 'unlocker' });
    const heardHere = collect<LockNotification>(socket, 'lock-released');
    const first = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 2 }));
    const released = next<LockNotification>(otherTab, 'lock-released', (n) => n.lockId === first.lockId);
    expect(ok(await request(socket, 'unlock-tickets', { lockId: first.lockId }))).toEqual({
      success: true,
      lockId: first.lockId,
      releasedQuantity: 2,
      remainingQuantity: 0,
      status: 'RELEASED',
    });
    expect(await released).toMatchObject({ lockId: first.lockId, eventId: 1, categoryId: 2, quantity: 2, status: 'RELEASED' });

    const second = ok(await request(socket, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 1 }));
    const releasedToo = next<LockNotification>(otherTab, 'lock-released', (n) => n.lockId === second.lockId);
    const byCategory = ok(await request(socket, 'unlock-tickets', { eventId: 'fest-2027', categoryId: 'backstage' }));
    expect(byCategory).toMatchObject({ lockId: second.lockId, releasedQuantity: 1, remainingQuantity: 0, status: 'RELEASED' });
    await releasedToo;
    expect((await counts(app, 'fest-2027', 'backstage')).lockedTickets).toBe(0);

    // The other tab's own unlock: now the first socket is the one told.
    const third = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    const heardThere = collect<LockNotification>(otherTab, 'lock-released');
    const toFirst = next<LockNotification>(socket, 'lock-released', (n) => n.lockId === third.lockId);
    ok(await request(otherTab, 'unlock-tickets', { lockId: third.lockId }));
    await toFirst;
    ok(await request(otherTab, 'heartbeat'));
    expect(heardHere.map((n) => n.lockId)).toEqual([third.lockId]);
    expect(heardThere).toEqual([]);
  });

  it('unlock-tickets with lockId and eventId/categoryId: they must be the lock\'s, else VALIDATION_FAILED and nothing changes', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'both-forms' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 3 }));
    const before = await counts(app, 'fest-2027', 'early-bird');
    for (const wrong of [
      { eventId: 1, categoryId: 'early-bird' },
      { eventId: 'fest-2027', categoryId: 'backstage' },
      { categoryId: 'backstage' },
    ]) {
      const answer = await request(socket, 'unlock-tickets', { lockId: lock.lockId, ...wrong });
      expect(answer, JSON.stringify(wrong)).toEqual({ success: false, code: 'VALIDATION_FAILED', message: anyString() });
    }
    expect(await counts(app, 'fest-2027', 'early-bird')).toEqual({ ...before, timestamp: anyString() });

    const partial = ok(await request(socket, 'unlock-tickets', { lockId: lock.lockId, eventId: 'fest-2027', categoryId: 'early-bird', quantity: 1 }));
    expect(partial).toMatchObject({ releasedQuantity: 1, remainingQuantity: 2, status: 'ACTIVE' });
    const rest = ok(await request(socket, 'unlock-tickets', { lockId: lock.lockId, eventId: 'fest-2027' }));
    expect(rest).toMatchObject({ lockId: lock.lockId, releasedQuantity: 2, remainingQuantity: 0, status: 'RELEASED' });
  });

  it('lock-tickets answers availableTickets: the count right after this lock, right under concurrency', async () => {
    const buyers = await Promise.all(Array.from({ length: 24 }, (_, i) => connect(app.socketUrl, { userId: `counted-${i}` })));
    const before = (await counts(app, 1, 3)).availableTickets;
    const answers = await Promise.all(
      buyers.map(({ socket }, i) => request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 + (i % 3) })),
    );
    const locks = answers.map((answer) => ok(answer));
    // Replaying the locks in the order of their counts, each one's count is the previous minus its quantity.
    const byCount = [...locks].sort((a, b) => b.availableTickets - a.availableTickets);
    let expected = before;
    for (const lock of byCount) {
      expected -= lock.quantity;
      expect(lock.availableTickets).toBe(expected);
    }
    expect((await counts(app, 1, 3)).availableTickets).toBe(expected);
    await Promise.all(buyers.map(({ socket }, i) => request(socket, 'unlock-tickets', { lockId: locks[i]?.lockId })));
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
