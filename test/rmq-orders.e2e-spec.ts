import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Availability, Lock } from '#lock-domain';
import type { LockCommandReply, LockNotification } from '#contracts';
import { RealtimeRmqServer } from '../apps/realtime/src/rmq/realtime-rmq.server.js';
import { collect, connect, next, ok, request, sleep, type TestSocket } from './support/clients.js';
import { anyString } from './support/matchers.js';
import { eventually } from './support/rmq-broker.js';
import { useRmqApp } from './support/rmq-app.js';

/**
 * The service among its neighbours (CONTRACT §4): an Orders-style Nest client confirms and releases
 * over RabbitMQ, other services push to sockets, bad messages go to the dead-letter queue, and every
 * transition is published as a lifecycle event.
 */
describe('RabbitMQ: Orders, pushes, dead letters, lifecycle events', () => {
  // The lifecycle queue is bound before the app starts: every lifecycle event of this file is collected.
  const t = useRmqApp('rmq-orders', { orders: true, lifecycle: true });

  const send = <T>(pattern: string, data: unknown): Promise<T> => firstValueFrom(t.orders.client.send<T>(pattern, data));
  const emit = (pattern: string, data: unknown): Promise<unknown> => lastValueFrom(t.orders.client.emit(pattern, data), { defaultValue: undefined });

  /** A fresh ACTIVE lock of `userId` on event 1, category 3 (1000 tickets). */
  async function lockFor(userId: string, quantity = 1): Promise<{ socket: TestSocket; lockId: string }> {
    const { socket } = await connect(t.app.socketUrl, { userId });
    const { lockId } = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity }));
    return { socket, lockId };
  }

  const eventsOf = (lockId: string) => t.lifecycle.filter((event) => event.body.data.lockId === lockId);

  it('confirms and releases over send, owners hear it, and both transitions are published', async () => {
    const a = await lockFor('orders-a', 2);
    const confirmed = next<LockNotification>(a.socket, 'lock-confirmed');
    const reply = await send<LockCommandReply>('confirm-ticket-lock', { lockId: a.lockId, orderId: 'order-1' });
    expect(reply).toEqual({ success: true, lockId: a.lockId, status: 'CONFIRMED' });
    expect(await confirmed).toMatchObject({ lockId: a.lockId, status: 'CONFIRMED', quantity: 2 });

    const b = await lockFor('orders-b');
    const released = next<LockNotification>(b.socket, 'lock-released');
    expect(await send<LockCommandReply>('release-ticket-lock', { lockId: b.lockId, reason: 'payment-failed' })).toEqual({
      success: true,
      lockId: b.lockId,
      status: 'RELEASED',
    });
    expect(await released).toMatchObject({ lockId: b.lockId, status: 'RELEASED', reason: 'payment-failed' });

    const got = await send<Lock>('get-ticket-lock', { lockId: a.lockId });
    expect(got).toMatchObject({ lockId: a.lockId, status: 'CONFIRMED', orderId: 'order-1', quantity: 2, userId: 'orders-a', confirmedAt: anyString() });

    await eventually(() => eventsOf(a.lockId).length === 2 && eventsOf(b.lockId).length === 2, 'the lifecycle events of both locks');
    expect(eventsOf(a.lockId).map((e) => e.routingKey)).toEqual(['ticket-lock.created', 'ticket-lock.confirmed']);
    expect(eventsOf(b.lockId).map((e) => e.routingKey)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    const [, confirmEvent] = eventsOf(a.lockId);
    expect(confirmEvent?.body).toMatchObject({ pattern: 'ticket-lock.confirmed', data: { lockId: a.lockId, status: 'CONFIRMED', orderId: 'order-1' } });
    expect(confirmEvent).toMatchObject({ persistent: true, contentType: 'application/json', messageId: expect.stringMatching(/^\d+-\d+$/) as unknown });
  });

  it('confirms and releases over emit (fire-and-forget events)', async () => {
    const a = await lockFor('emit-a');
    const confirmed = next<LockNotification>(a.socket, 'lock-confirmed');
    await emit('confirm-ticket-lock', { lockId: a.lockId, orderId: 42 });
    expect(await confirmed).toMatchObject({ lockId: a.lockId, status: 'CONFIRMED' });
    expect(await send<Lock>('get-ticket-lock', { lockId: a.lockId })).toMatchObject({ status: 'CONFIRMED', orderId: '42' });

    const b = await lockFor('emit-b');
    const released = next<LockNotification>(b.socket, 'lock-released');
    await emit('release-ticket-lock', { lockId: b.lockId });
    expect(await released).toMatchObject({ lockId: b.lockId, status: 'RELEASED' });
  });

  it('a double confirm succeeds with the same answer and has one effect', async () => {
    const { socket, lockId } = await lockFor('double');
    const notifications = collect<LockNotification>(socket, 'lock-confirmed');
    const first = await send<LockCommandReply>('confirm-ticket-lock', { lockId, orderId: 'order-d' });
    const second = await send<LockCommandReply>('confirm-ticket-lock', { lockId, orderId: 'order-d' });
    expect(first).toEqual({ success: true, lockId, status: 'CONFIRMED' });
    expect(second).toEqual(first);
    await eventually(() => eventsOf(lockId).length === 2, 'created + confirmed');
    await sleep(300);
    expect(notifications).toHaveLength(1);
    expect(eventsOf(lockId).map((e) => e.routingKey)).toEqual(['ticket-lock.created', 'ticket-lock.confirmed']);
  });

  it('refuses to release a confirmed lock; a released lock releases again unchanged and is never confirmed', async () => {
    const a = await lockFor('refuse-a');
    await send('confirm-ticket-lock', { lockId: a.lockId });
    expect(await send<LockCommandReply>('release-ticket-lock', { lockId: a.lockId })).toEqual({
      success: false,
      lockId: a.lockId,
      status: 'CONFIRMED',
      code: 'LOCK_NOT_ACTIVE',
      message: anyString(),
    });

    const b = await lockFor('refuse-b');
    await send('release-ticket-lock', { lockId: b.lockId });
    expect(await send<LockCommandReply>('release-ticket-lock', { lockId: b.lockId })).toEqual({ success: true, lockId: b.lockId, status: 'RELEASED' });
    expect(await send<LockCommandReply>('confirm-ticket-lock', { lockId: b.lockId })).toMatchObject({ success: false, lockId: b.lockId, code: 'LOCK_NOT_ACTIVE' });
  });

  it('answers an unknown lock and an invalid request with a refusal', async () => {
    const unknown = { success: false, lockId: 'no-such-lock', code: 'LOCK_NOT_FOUND', message: anyString() };
    expect(await send('confirm-ticket-lock', { lockId: 'no-such-lock' })).toEqual(unknown);
    expect(await send('release-ticket-lock', { lockId: 'no-such-lock' })).toEqual(unknown);
    expect(await send('get-ticket-lock', { lockId: 'no-such-lock' })).toEqual({ success: false, code: 'LOCK_NOT_FOUND', message: anyString() });
    expect(await send('confirm-ticket-lock', { lockId: 42 })).toEqual({ success: false, code: 'VALIDATION_FAILED', message: expect.stringContaining('lockId') as unknown });
    expect(await send('release-ticket-lock', 'just a string')).toMatchObject({ success: false, code: 'VALIDATION_FAILED' });
    expect(await send('notify-user', { userId: 'x', type: 'disconnect', payload: {} })).toMatchObject({ success: false, code: 'VALIDATION_FAILED' });
  });

  it('moves malformed bodies, unknown patterns and invalid events to the dead-letter queue, and goes on serving', async () => {
    const dlq = `${t.names.realtimeQueue}.dead-letter`;
    await t.broker.publishRaw(t.names.realtimeQueue, 'this is {not json', { headers: { source: 'test' } });
    await t.broker.publishRaw(t.names.realtimeQueue, '[1, 2, 3]');
    await t.broker.publishRaw(t.names.realtimeQueue, '"a string"');
    await t.broker.publishRaw(t.names.realtimeQueue, JSON.stringify({ data: { lockId: 'x' } }));
    await t.broker.publishRaw(t.names.realtimeQueue, JSON.stringify({ pattern: 'no-such-pattern', data: {} }));
    await emit('notify-user', { userId: 'someone', type: 'connect', payload: {} });
    await emit('confirm-ticket-lock', { lockId: { $gt: '' } });
    // A request with an unknown pattern fails at once for its sender, and is dead-lettered too.
    await expect(send('no-such-request', { hello: 1 })).rejects.toContain('no matching message handler');

    // The consumer is not stuck behind them: the next good message is served.
    const { lockId } = await lockFor('after-dlq');
    expect(await send('confirm-ticket-lock', { lockId })).toEqual({ success: true, lockId, status: 'CONFIRMED' });

    const dead = await t.broker.take(dlq, 8);
    const reasons = dead.map((m) => m.headers['x-dead-letter-reason']).sort();
    expect(reasons).toEqual(['invalid-payload', 'invalid-payload', 'not-an-object', 'not-an-object', 'unknown-pattern', 'unknown-pattern', 'unknown-pattern', 'unparseable-body']);
    const unparseable = dead.find((m) => m.headers['x-dead-letter-reason'] === 'unparseable-body');
    expect(unparseable).toMatchObject({ content: 'this is {not json', headers: { source: 'test', 'x-original-queue': t.names.realtimeQueue } });
    const invalid = dead.filter((m) => m.headers['x-dead-letter-reason'] === 'invalid-payload').map((m) => String(m.headers['x-dead-letter-detail']));
    expect(invalid.some((detail) => detail.includes('reserved event name'))).toBe(true);
    expect(await t.broker.messageCount(t.names.realtimeQueue)).toBe(0);
  });

  it('a consumer stopping between commit and ack leads, on redelivery, to exactly one effect', async () => {
    const server = t.app.app.get(RealtimeRmqServer);
    const { socket, lockId } = await lockFor('crash');
    const notifications = collect<LockNotification>(socket, 'lock-confirmed');
    const deliveries: boolean[] = [];
    const ack = server.acknowledge.bind(server);
    let crashed = false;
    server.acknowledge = (channel: ConfirmChannel, message: ConsumeMessage) => {
      const body = JSON.parse(message.content.toString('utf8')) as { data?: { lockId?: string } };
      if (body.data?.lockId === lockId) {
        deliveries.push(message.fields.redelivered);
        if (!crashed) {
          // The effect is in Redis, the ack never leaves: the connection drops as if the process died.
          crashed = true;
          server.unwrap<AmqpConnectionManager>().reconnect();
          return;
        }
      }
      ack(channel, message);
    };
    try {
      await emit('confirm-ticket-lock', { lockId, orderId: 'order-crash' });
      await eventually(() => deliveries.length === 2, 'the redelivery', 15_000);
      expect(deliveries).toEqual([false, true]);
      await eventually(() => eventsOf(lockId).length === 2, 'created + confirmed');
      await sleep(500);
      expect(notifications).toHaveLength(1);
      expect(eventsOf(lockId).map((e) => e.routingKey)).toEqual(['ticket-lock.created', 'ticket-lock.confirmed']);
      expect(await send<Lock>('get-ticket-lock', { lockId })).toMatchObject({ status: 'CONFIRMED', orderId: 'order-crash' });
    } finally {
      server.acknowledge = ack;
    }
  });

  it('notify-user reaches every socket of that user and nobody else', async () => {
    const { socket: tab1 } = await connect(t.app.socketUrl, { userId: 'notified' });
    const { socket: tab2 } = await connect(t.app.socketUrl, { userId: 'notified' });
    const { socket: other } = await connect(t.app.socketUrl, { userId: 'bystander' });
    const seenByOther = collect(other, 'order-status');
    const one = next(tab1, 'order-status');
    const two = next(tab2, 'order-status');
    await emit('notify-user', { userId: 'notified', type: 'order-status', payload: { orderId: 'o-7', state: 'paid' } });
    expect(await one).toEqual({ orderId: 'o-7', state: 'paid' });
    expect(await two).toEqual({ orderId: 'o-7', state: 'paid' });
    await sleep(300);
    expect(seenByOther).toEqual([]);
  });

  it('broadcast-event reaches the event room only', async () => {
    const { socket: inRoom } = await connect(t.app.socketUrl, { userId: 'room-member' });
    const { socket: outside } = await connect(t.app.socketUrl, { userId: 'not-member' });
    ok(await request(inRoom, 'join-event-room', { eventId: 'fest-2027' }));
    ok(await request(outside, 'join-event-room', { eventId: 1 }));
    const seenOutside = collect(outside, 'event-news');
    const news = next(inRoom, 'event-news');
    expect(await send('broadcast-event', { eventId: 'fest-2027', type: 'event-news', payload: { text: 'doors at 7' } })).toEqual({ success: true });
    expect(await news).toEqual({ text: 'doors at 7' });
    await sleep(300);
    expect(seenOutside).toEqual([]);
  });

  it('inventory-changed raises a category and the room gets an availability-update', async () => {
    const { socket } = await connect(t.app.socketUrl, { userId: 'inventory-watcher' });
    const snapshot = ok(await request(socket, 'join-event-room', { eventId: 'fest-2027' }));
    const before = snapshot.availability.find((a) => a.categoryId === 'backstage');
    expect(before).toMatchObject({ totalTickets: 2 });
    const update = next<Availability>(socket, 'availability-update', (a) => a.categoryId === 'backstage' && a.totalTickets === 12);
    await emit('inventory-changed', { eventId: 'fest-2027', categoryId: 'backstage', totalTickets: 12 });
    const seen = await update;
    expect(seen).toMatchObject({ eventId: 'fest-2027', categoryId: 'backstage', totalTickets: 12, availableTickets: (before?.availableTickets ?? 0) + 10 });
    expect(seen.version).toBeGreaterThan(before?.version ?? Infinity);
  });
});
