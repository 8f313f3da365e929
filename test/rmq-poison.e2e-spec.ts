import { firstValueFrom, timeout } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { LockCommandReply } from '#contracts';
import { connect, ok, request } from './support/clients.js';
import { eventually } from './support/rmq-broker.js';
import { useRmqApp } from './support/rmq-app.js';

/** `{ a: { a: … } }`, `levels` deep: what overflowed the Socket.IO encoder's stack. */
function nested(levels: number): unknown {
  let payload: unknown = {};
  for (let i = 0; i < levels; i++) payload = { a: payload };
  return payload;
}

/** CONTRACT §4: no message can stall the queue, however many of them arrive. */
describe('RabbitMQ: poison messages', () => {
  const t = useRmqApp('rmq-poison', { orders: true });

  it('61 deeply nested pushes then 10 confirms: every confirm answered within seconds, the pushes dead-lettered with their reason', async () => {
    const queue = t.names.realtimeQueue;
    const dlq = `${queue}.dead-letter`;
    // Somebody in the room and the user's sockets, so the pushes would really be encoded.
    const { socket } = await connect(t.app.socketUrl, { userId: 'poison-victim' });
    ok(await request(socket, 'join-event-room', { eventId: 1 }));
    const lockIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { socket: buyer } = await connect(t.app.socketUrl, { userId: `poison-buyer-${i}` });
      lockIds.push(ok(await request(buyer, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 })).lockId);
    }

    const payload = nested(4000);
    for (let i = 0; i < 61; i++) {
      const data = i % 2 === 0 ? { userId: 'poison-victim', type: 'promo', payload } : { eventId: 1, type: 'promo', payload };
      await t.broker.publishRaw(queue, JSON.stringify({ pattern: i % 2 === 0 ? 'notify-user' : 'broadcast-event', data }));
    }
    const started = Date.now();
    const replies = await Promise.all(
      lockIds.map((lockId, i) =>
        firstValueFrom(t.orders.client.send<LockCommandReply>('confirm-ticket-lock', { lockId, orderId: `order-${i}` }).pipe(timeout(10_000))),
      ),
    );
    expect(replies).toEqual(lockIds.map((lockId) => ({ success: true, lockId, status: 'CONFIRMED' })));
    expect(Date.now() - started).toBeLessThan(5000);

    const dead = await t.broker.take(dlq, 61);
    expect(dead.map((m) => m.headers['x-dead-letter-reason'])).toEqual(Array(61).fill('invalid-payload'));
    expect(String(dead[0]?.headers['x-dead-letter-detail'])).toContain('nested deeper than 32 levels');
    await eventually(async () => (await t.broker.messageCount(queue)) === 0, 'the queue drained');
    expect(await t.broker.messageCount(`${queue}.retry`)).toBe(0);
    // The service is still answering sockets.
    ok(await request(socket, 'heartbeat', {}));
  });
});
