import { ClientTCP } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Availability } from '#lock-domain';
import type { OrderNotice, RoomNotice } from '#contracts';
import { getJson } from './support/app.js';
import { connect, emitRaw, next, ok, request, type TestSocket } from './support/clients.js';
import { anyNumber, anyString } from './support/matchers.js';
import { OriginalEventsService, type TicketCategoryRow } from './support/original-events-service.js';
import { useRmqApp } from './support/rmq-app.js';

/** The original events-service's rows: event 1 (Gold 10 seats, 3 already sold; Silver 50), event 2 (never asked until the end). */
const ROWS: TicketCategoryRow[] = [
  { id: 11, eventId: 1, categoryName: 'Gold', price: 120, totalSeats: 10, reservedSeats: 3 },
  { id: 12, eventId: 1, categoryName: 'Silver', price: 60, totalSeats: 50, reservedSeats: 0 },
  { id: 13, eventId: 1, categoryName: 'Retired', price: 1, totalSeats: 5, reservedSeats: 0, isActive: false },
  { id: 21, eventId: 2, categoryName: 'Floor', price: 40, totalSeats: 100, reservedSeats: 0 },
];

/**
 * CONTRACT §9: the service dropped in for the original platform's realtime-service. Its
 * orders-service (a Nest ClientRMQ on the realtime queue, `durable: true`, as the original registers
 * it) confirms with `confirm-lock` and emits `order-completed` / `order-cancelled`; its
 * events-service (here: a Nest TCP microservice answering like the original) is the events source
 * and the sales ledger; its frontend waits for `joined-event-room`.
 */
describe('The original platform: orders-service, events-service over TCP, frontend', () => {
  const env: Record<string, string> = { EVENTS_SOURCE: 'tcp', EVENTS_TIMEOUT_MS: '800', RATE_LIMIT_PER_MINUTE: '0' };
  let events: OriginalEventsService;
  /** How the original orders-service reaches the events-service (reserve-tickets / release-tickets). */
  let ordersToEvents: ClientTCP;
  beforeAll(async () => {
    events = await OriginalEventsService.start(ROWS);
    env.EVENTS_TCP_URL = events.url;
    ordersToEvents = new ClientTCP({ host: '127.0.0.1', port: events.port });
  });
  // Registered after the Events service starts, so the app's environment has its address.
  const t = useRmqApp('original', { orders: true, env });
  afterAll(async () => {
    ordersToEvents?.close();
    await events?.stop();
  });

  const send = <T>(pattern: string, data: unknown): Promise<T> => firstValueFrom(t.orders.client.send<T>(pattern, data));
  const emit = (pattern: string, data: unknown): Promise<unknown> => lastValueFrom(t.orders.client.emit(pattern, data), { defaultValue: undefined });
  const reserve = (categoryId: number, quantity: number) => firstValueFrom(ordersToEvents.send<boolean>('reserve-tickets', { eventId: 1, categoryId, quantity }));
  const release = (categoryId: number, quantity: number) => firstValueFrom(ordersToEvents.send<boolean>('release-tickets', { categoryId, quantity }));

  async function lockFor(userId: string, categoryId: number, quantity: number): Promise<{ socket: TestSocket; lockId: string; availableTickets: number }> {
    const { socket } = await connect(t.app.socketUrl, { userId });
    const answer = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId, quantity }));
    return { socket, lockId: answer.lockId, availableTickets: answer.availableTickets };
  }

  it('a frontend that only listens for joined-event-room / left-event-room gets them; the snapshot comes from the TCP events-service', async () => {
    const { socket, hello } = await connect(t.app.socketUrl, { userId: '7' });
    expect(hello).toEqual({ success: true, sessionId: socket.id, userId: '7', serverTime: anyString(), message: anyString() });

    const joined = next<RoomNotice>(socket, 'joined-event-room');
    // As the original frontend sends it: no acknowledgement, its own numeric userId in the payload.
    emitRaw(socket, 'join-event-room', { eventId: 1, userId: 7 });
    expect(await joined).toEqual({ success: true, eventId: 1, message: 'Joined event 1 room' });
    const left = next<RoomNotice>(socket, 'left-event-room');
    emitRaw(socket, 'leave-event-room', { eventId: 1, userId: 7 });
    expect(await left).toEqual({ success: true, eventId: 1, message: 'Left event 1 room' });

    // The original's request: get-ticket-categories with the bare id; its entities mapped (inactive ones left out).
    expect(events.asked).toEqual([1]);
    const { availability } = ok(await request(socket, 'join-event-room', { eventId: 1 }));
    expect(availability.map((a) => [a.categoryId, a.totalTickets, a.soldTickets, a.availableTickets])).toEqual([
      [11, 10, 3, 7],
      [12, 50, 0, 50],
    ]);
    const { body } = await getJson<Array<{ id: unknown; categories: Array<{ categoryId: unknown; name?: string }> }>>(t.app, '/events');
    expect(body.find((e) => e.id === 1)?.categories.map((c) => [c.categoryId, c.name])).toEqual([
      [11, 'Gold'],
      [12, 'Silver'],
    ]);
    // Cached: asked once.
    expect(events.asked).toEqual([1]);
  });

  it('confirm-lock answers a bare boolean: true for the owner (and a repeat), false for an unknown or a foreign lock', async () => {
    const mine = await lockFor('101', 12, 2);
    expect(mine.availableTickets).toBe(48);
    // The original orders-service sends its numeric userId.
    expect(await send('confirm-lock', { lockId: mine.lockId, userId: 101 })).toBe(true);
    expect(await send('confirm-lock', { lockId: mine.lockId, userId: 101 })).toBe(true);
    expect(await send('confirm-lock', { lockId: '00000000-0000-4000-8000-000000000000', userId: 101 })).toBe(false);

    const theirs = await lockFor('102', 12, 1);
    expect(await send('confirm-lock', { lockId: theirs.lockId, userId: 101 })).toBe(false);
    expect(ok(await request(theirs.socket, 'get-my-locks')).locks).toMatchObject([{ lockId: theirs.lockId, status: 'ACTIVE' }]);
    // Without a userId the lock is confirmed whoever owns it; malformed data is false, never an object.
    expect(await send('confirm-lock', { lockId: theirs.lockId })).toBe(true);
    expect(await send('confirm-lock', { userId: 101 })).toBe(false);
    expect(await send('confirm-lock', 'not an object')).toBe(false);
  });

  it('the order flow: confirm-lock, reserve-tickets, order-completed → the buyer is told, the room gets the ledger\'s counts, nothing counted twice', async () => {
    const watcher = (await connect(t.app.socketUrl, { userId: '900' })).socket;
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    const buyer = await lockFor('201', 11, 2);
    expect(buyer.availableTickets).toBe(5);
    const confirmed = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 11 && a.soldTickets === 5);
    expect(await send('confirm-lock', { lockId: buyer.lockId, userId: 201 })).toBe(true);
    const { version } = await confirmed;

    // What the original orders-service does next: reserve in the events-service, then emit order-completed.
    expect(await reserve(11, 2)).toBe(true);
    const notice = next<OrderNotice>(buyer.socket, 'order-completed');
    const reread = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 11 && a.version > version);
    const asked = events.asked.length;
    await emit('order-completed', { orderId: 5001, eventId: 1, categoryId: 11, quantity: 2, userId: 201 });
    expect(await notice).toEqual({ orderId: 5001, eventId: 1, categoryId: 11, quantity: 2, message: anyString() });
    // Re-read from the events-service (3 + 2 reserved there): 5 sold, not 7.
    expect(await reread).toMatchObject({ eventId: 1, categoryId: 11, totalTickets: 10, soldTickets: 5, availableTickets: 5, lockedTickets: 0 });
    expect(events.asked.length).toBe(asked + 1);

    // An order made without a lock here, then one cancelled: sold follows the ledger.
    expect(await reserve(11, 3)).toBe(true);
    const elsewhere = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 11 && a.soldTickets === 8);
    await emit('order-completed', { orderId: 5002, eventId: 1, categoryId: 11, quantity: 3, userId: 202 });
    expect(await elsewhere).toMatchObject({ soldTickets: 8, availableTickets: 2 });

    expect(await release(11, 2)).toBe(true);
    const cancelled = next<OrderNotice>(buyer.socket, 'order-cancelled');
    const freed = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 11 && a.soldTickets === 6);
    await emit('order-cancelled', { orderId: 5001, eventId: 1, categoryId: 11, quantity: 2, userId: 201 });
    expect(await cancelled).toEqual({ orderId: 5001, eventId: 1, categoryId: 11, quantity: 2, message: anyString() });
    expect(await freed).toMatchObject({ soldTickets: 6, availableTickets: 4 });

    // A redelivered order-completed settles nothing twice.
    const again = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 11);
    await emit('order-completed', { orderId: 5002, eventId: 1, categoryId: 11, quantity: 3, userId: 202 });
    expect(await again).toMatchObject({ soldTickets: 6, availableTickets: 4 });
  });

  it('inventory-changed re-reads the ledger: total and sold together, our unsettled confirms still counted', async () => {
    const watcher = (await connect(t.app.socketUrl, { userId: '901' })).socket;
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    // Silver: 3 tickets confirmed here earlier whose orders never reached the ledger; 5 sold elsewhere; resized to 60.
    const silver = events.rows.find((row) => row.id === 12)!;
    silver.totalSeats = 60;
    silver.reservedSeats = 5;
    const update = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 12 && a.soldTickets !== 3);
    await emit('inventory-changed', { eventId: 1, categoryId: 12, totalTickets: 60 });
    expect(await update).toMatchObject({ totalTickets: 60, soldTickets: 8, availableTickets: 52 });
  });

  it('get-realtime-stats answers the /stats body', async () => {
    const stats = await send<Record<string, unknown>>('get-realtime-stats', {});
    expect(stats).toMatchObject({
      service: 'realtime-service',
      status: 'active',
      instanceId: anyString(),
      connectedUsers: anyNumber(),
      connections: anyNumber(),
      ticketLocks: { totalLocks: anyNumber(), activeLocks: anyNumber(), locksByStatus: { confirmed: anyNumber() } },
    });
    const { body } = await getJson<Record<string, unknown>>(t.app, '/stats');
    expect(Object.keys(stats).sort()).toEqual(Object.keys(body).sort());
  });

  it('an unknown event is EVENT_NOT_FOUND; the events-service down is EVENTS_UNAVAILABLE and nothing is held', async () => {
    const { socket } = await connect(t.app.socketUrl, { userId: '301' });
    const missing = await request(socket, 'lock-tickets', { eventId: 99, categoryId: 1, quantity: 1 });
    expect(missing).toMatchObject({ success: false, code: 'EVENT_NOT_FOUND' });

    await events.stop();
    const before = await send<{ ticketLocks: { activeLocks: number } }>('get-realtime-stats', {});
    const started = Date.now();
    const down = await request(socket, 'lock-tickets', { eventId: 2, categoryId: 21, quantity: 1 });
    expect(down).toMatchObject({ success: false, code: 'EVENTS_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(ok(await request(socket, 'get-my-locks')).locks).toEqual([]);
    const after = await send<{ ticketLocks: { activeLocks: number } }>('get-realtime-stats', {});
    expect(after.ticketLocks.activeLocks).toBe(before.ticketLocks.activeLocks);

    // Back on its port: the next request reaches it (the TCP client reconnects).
    events = await OriginalEventsService.start(ROWS, events.port);
    const back = await request(socket, 'lock-tickets', { eventId: 2, categoryId: 21, quantity: 1 });
    expect(back).toMatchObject({ success: true, categoryId: 21, availableTickets: 99 });
  });
});
