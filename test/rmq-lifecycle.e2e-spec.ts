import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisOutbox } from '#lock-store';
import { getJson } from './support/app.js';
import { connect, ok, request, sleep, type TestSocket } from './support/clients.js';
import { eventually, type ReceivedLockEvent } from './support/rmq-broker.js';
import { useRmqApp } from './support/rmq-app.js';
import { TEST_REDIS_URL } from './support/services.js';

/** Each lock's routing keys, in arrival order. */
function byLock(events: ReceivedLockEvent[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const event of events) map.set(event.body.data.lockId, [...(map.get(event.body.data.lockId) ?? []), event.routingKey]);
  return map;
}

async function lockAndMaybeUnlock(socket: TestSocket, categoryId: number, unlock: boolean): Promise<string> {
  const { lockId } = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId, quantity: 1 }));
  if (unlock) ok(await request(socket, 'unlock-tickets', { lockId }));
  return lockId;
}

/**
 * Lifecycle events go through the transactional outbox: recorded in Redis with the transition,
 * published (persistent, confirmed) when the broker is reachable, so an outage loses nothing.
 */
describe('RabbitMQ: lifecycle events through the outbox', () => {
  // The service reaches RabbitMQ only through a proxy, so the test can take the broker away from it.
  const t = useRmqApp('rmq-lifecycle', { proxy: { rabbitmq: true }, lifecycle: true });

  async function outboxLength(): Promise<number> {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      return await new RedisOutbox(redis, t.app.config.redisKeyPrefix).length();
    } finally {
      redis.disconnect();
    }
  }

  it('publishes every transition, including those made while RabbitMQ was unreachable, in order per lock', async () => {
    const { socket } = await connect(t.app.socketUrl, { userId: 'outage-user' });
    const before = await lockAndMaybeUnlock(socket, 1, true);
    await eventually(() => byLock(t.lifecycle).get(before)?.length === 2, 'the events before the outage');
    // Delivered is not yet trimmed: the relay drops entries once the broker confirmed them. Cut only
    // after that, so what the outbox holds below is exactly what the outage held back.
    await eventually(async () => (await outboxLength()) === 0, 'the delivered events trimmed from the outbox');

    t.rabbitProxy.cut();
    await eventually(async () => (await getJson<{ checks: Record<string, string> }>(t.app, '/ready')).body.checks.rabbitmq === 'down', '/ready to report rabbitmq down');
    const during = [
      await lockAndMaybeUnlock(socket, 1, true),
      await lockAndMaybeUnlock(socket, 2, true),
      await lockAndMaybeUnlock(socket, 3, false),
    ];
    // The lock path did not wait for the broker, and nothing could leave: the events wait in Redis.
    await sleep(1500);
    expect(t.lifecycle.filter((e) => during.includes(e.body.data.lockId))).toEqual([]);
    expect(await outboxLength()).toBe(5);

    t.rabbitProxy.restore();
    await eventually(() => during.every((lockId) => (byLock(t.lifecycle).get(lockId)?.length ?? 0) >= (lockId === during[2] ? 1 : 2)), 'the events held back during the outage', 20_000);
    await sleep(500);
    const order = byLock(t.lifecycle);
    expect(order.get(before)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(order.get(during[0]!)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(order.get(during[1]!)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(order.get(during[2]!)).toEqual(['ticket-lock.created']);
    const ids = t.lifecycle.map((e) => e.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(t.lifecycle.every((e) => e.persistent && e.body.pattern === e.routingKey)).toBe(true);
    await eventually(async () => (await getJson<{ checks: Record<string, string> }>(t.app, '/ready')).body.checks.rabbitmq === 'up', '/ready to report rabbitmq up');
  });
});

/** Without Redis the in-process store has no stream: the relay drains an in-memory outbox instead. */
describe('RabbitMQ: lifecycle events without Redis', () => {
  const t = useRmqApp('rmq-lifecycle-mem', { lifecycle: true, env: { REDIS_URL: undefined } });

  it('publishes created and released', async () => {
    const { socket } = await connect(t.app.socketUrl, { userId: 'memory-user' });
    const lockId = await lockAndMaybeUnlock(socket, 2, true);
    await eventually(() => byLock(t.lifecycle).get(lockId)?.length === 2, 'created + released');
    expect(byLock(t.lifecycle).get(lockId)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(t.lifecycle[0]?.body.data).toMatchObject({ lockId, eventId: 1, categoryId: 2, quantity: 1, userId: 'memory-user', status: 'ACTIVE' });
  });
});
