import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { LockCommandReply, LockNotification } from '#contracts';
import { RealtimeRmqServer } from '../apps/realtime/src/rmq/realtime-rmq.server.js';
import { retryCount } from '../apps/realtime/src/rmq/rmq-envelope.js';
import { dropKeys, getJson, startApp } from './support/app.js';
import { collect, connect, ok, request, sleep } from './support/clients.js';
import { eventually, rmqEnv, rmqNames, TestBroker } from './support/rmq-broker.js';
import { useRmqApp } from './support/rmq-app.js';

/** A handler fault (Redis away) is not a refusal: the message goes back to the queue and nothing is lost. */
describe('RabbitMQ: a fault requeues the message', () => {
  const t = useRmqApp('rmq-faults', { proxy: { redis: true }, orders: true });

  it('a confirm arriving while Redis is away is retried until it is committed, then acked once', async () => {
    const server = t.app.app.get(RealtimeRmqServer);
    const { socket } = await connect(t.app.socketUrl, { userId: 'fault-owner' });
    const { lockId } = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    const notifications = collect<LockNotification>(socket, 'lock-confirmed');
    const acked: number[] = [];
    const ack = server.acknowledge.bind(server);
    server.acknowledge = (channel: ConfirmChannel, message: ConsumeMessage) => {
      if (message.content.toString('utf8').includes(lockId)) acked.push(retryCount(message.properties.headers));
      ack(channel, message);
    };
    try {
      t.redisProxy.cut();
      const reply = firstValueFrom(t.orders.client.send<LockCommandReply>('confirm-ticket-lock', { lockId, orderId: 'order-f' }));
      await sleep(2500);
      // Neither acked nor refused while the effect cannot be committed.
      expect(acked).toEqual([]);
      t.redisProxy.restore();
      expect(await reply).toEqual({ success: true, lockId, status: 'CONFIRMED' });
      await eventually(() => notifications.length === 1, 'lock-confirmed');
      // Acked exactly once, on a retry (the fault sent it back through the retry queue).
      expect(acked).toHaveLength(1);
      expect(acked[0]).toBeGreaterThanOrEqual(1);
      expect(await t.broker.messageCount(`${t.names.realtimeQueue}.dead-letter`)).toBe(0);
    } finally {
      server.acknowledge = ack;
      t.redisProxy.restore();
    }
  });
});

/** A confirm after `expiresAt` succeeds only if the tickets can be taken again at that instant (CONTRACT §1). */
describe('RabbitMQ: late confirm', () => {
  // 1.2 s locks; the sweep stays out of the way (exact expiry does not need it).
  const t = useRmqApp('rmq-late', { orders: true, env: { LOCK_DURATION_MINUTES: '0.02', CLEANUP_INTERVAL_MINUTES: '10' } });

  it('confirms an expired lock while its tickets are still free, and refuses once someone else took them', async () => {
    const send = (data: unknown) => firstValueFrom(t.orders.client.send<LockCommandReply>('confirm-ticket-lock', data));
    const { socket: late } = await connect(t.app.socketUrl, { userId: 'late-buyer' });
    const free = ok(await request(late, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 }));
    const taken = ok(await request(late, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 2 }));
    await sleep(1500);

    expect(await send({ lockId: free.lockId })).toEqual({ success: true, lockId: free.lockId, status: 'CONFIRMED' });

    const { socket: other } = await connect(t.app.socketUrl, { userId: 'other-buyer' });
    ok(await request(other, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 2 }));
    expect(await send({ lockId: taken.lockId })).toMatchObject({ success: false, lockId: taken.lockId, code: 'LOCK_EXPIRED' });
  });
});

describe('RabbitMQ: a queue that cannot be consumed', () => {
  it('is reported by /ready instead of crashing the service', async () => {
    const names = rmqNames('rmq-conflict');
    const broker = await TestBroker.forService(names);
    // Declared by someone else with an argument the service does not repeat: its declaration is refused.
    await broker.rawChannel.assertQueue(names.realtimeQueue, { durable: true, arguments: { 'x-max-length': 10 } });
    const app = await startApp({ env: { ...rmqEnv(names), EVENTS_SOURCE: 'catalog' } });
    try {
      await sleep(1000);
      const ready = await getJson<{ checks: Record<string, string> }>(app, '/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toMatchObject({ rabbitmq: 'down', redis: 'up' });
      expect((await getJson(app, '/health')).status).toBe(200);
    } finally {
      await app.close();
      await broker.close();
      await dropKeys(app.config.redisKeyPrefix);
    }
  });
});
