import { firstValueFrom, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Availability, Lock } from '#lock-domain';
import type { LockCommandReply } from '#contracts';
import { connect, next, ok, request } from './support/clients.js';
import { anyString } from './support/matchers.js';
import { useApp } from './support/app.js';
import { useRmqApp } from './support/rmq-app.js';

/** CONTRACT §4 confirm: one order per lock, and never beyond the category's total. */
describe('RabbitMQ: confirm rules', () => {
  const t = useRmqApp('rmq-confirm-rules', { orders: true });
  const send = <T>(pattern: string, data: unknown): Promise<T> => firstValueFrom(t.orders.client.send<T>(pattern, data));
  const emit = (pattern: string, data: unknown): Promise<unknown> => lastValueFrom(t.orders.client.emit(pattern, data), { defaultValue: undefined });

  it('a lock confirmed for order A is refused to order B (LOCK_NOT_ACTIVE, naming order A); A again succeeds', async () => {
    const { socket } = await connect(t.app.socketUrl, { userId: 'two-orders' });
    const { lockId } = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 2 }));
    expect(await send<LockCommandReply>('confirm-ticket-lock', { lockId, orderId: 'order-A' })).toEqual({ success: true, lockId, status: 'CONFIRMED' });
    expect(await send<LockCommandReply>('confirm-ticket-lock', { lockId, orderId: 'order-B' })).toEqual({
      success: false,
      lockId,
      status: 'CONFIRMED',
      orderId: 'order-A',
      code: 'LOCK_NOT_ACTIVE',
      message: anyString(),
    });
    expect(await send<LockCommandReply>('confirm-ticket-lock', { lockId, orderId: 'order-A' })).toEqual({ success: true, lockId, status: 'CONFIRMED' });
    expect(await send<Lock>('get-ticket-lock', { lockId })).toMatchObject({ status: 'CONFIRMED', orderId: 'order-A' });
  });

  it('after inventory-changed shrank a category, a confirm that would sell beyond the total is INSUFFICIENT_TICKETS', async () => {
    const { socket: a } = await connect(t.app.socketUrl, { userId: 'shrink-a' });
    const { socket: b } = await connect(t.app.socketUrl, { userId: 'shrink-b' });
    ok(await request(a, 'join-event-room', { eventId: 'fest-2027' }));
    const big = ok(await request(a, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 5 }));
    const small = ok(await request(b, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 2 }));
    const shrunk = next<Availability>(a, 'availability-update', (u) => u.categoryId === 'early-bird' && u.totalTickets === 2);
    await emit('inventory-changed', { eventId: 'fest-2027', categoryId: 'early-bird', totalTickets: 2 });
    await shrunk;
    expect(await send<LockCommandReply>('confirm-ticket-lock', { lockId: big.lockId, orderId: 'o-big' })).toEqual({
      success: false,
      lockId: big.lockId,
      status: 'ACTIVE',
      code: 'INSUFFICIENT_TICKETS',
      message: anyString(),
    });
    expect(await send<LockCommandReply>('confirm-ticket-lock', { lockId: small.lockId, orderId: 'o-small' })).toMatchObject({ success: true });
    const availability = ok(await request(a, 'join-event-room', { eventId: 'fest-2027' })).availability.find((c) => c.categoryId === 'early-bird');
    expect(availability).toMatchObject({ totalTickets: 2, soldTickets: 2, availableTickets: 0 });
  });
});

describe('lock-tickets: requestId bound to its payload', () => {
  const t = { app: useApp() };

  it('the same requestId with another category or quantity is VALIDATION_FAILED, never the first lock', async () => {
    const { socket } = await connect(t.app.socketUrl, { userId: 'rid-user' });
    const first = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 2, requestId: 'rid-1' }));
    for (const payload of [
      { eventId: 1, categoryId: 3, quantity: 1, requestId: 'rid-1' },
      { eventId: 1, categoryId: 2, quantity: 2, requestId: 'rid-1' },
      { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 2, requestId: 'rid-1' },
      { eventId: 1, categoryId: 'unknown-category', quantity: 2, requestId: 'rid-1' },
    ]) {
      expect(await request(socket, 'lock-tickets', payload)).toEqual({
        success: false,
        code: 'VALIDATION_FAILED',
        message: 'requestId was already used for another request',
      });
    }
    expect(ok(await request(socket, 'lock-tickets', { eventId: '1', categoryId: '3', quantity: 2, requestId: 'rid-1' })).lockId).toBe(first.lockId);
    expect(ok(await request(socket, 'get-my-locks', {})).locks.map((l) => l.lockId)).toEqual([first.lockId]);
  });
});
