import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisOutbox } from '#lock-store';
import { dropKeys, getJson, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, ok, request, sleep, type TestSocket } from './support/clients.js';
import { TestBroker, eventually, rmqEnv, rmqNames, type ReceivedLockEvent } from './support/rmq-broker.js';
import { TEST_RABBITMQ_URL, TEST_REDIS_URL } from './support/services.js';
import { TcpProxy } from './support/tcp-proxy.js';

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
  const names = rmqNames('rmq-lifecycle');
  let broker: TestBroker;
  let proxy: TcpProxy;
  let app: TestApp;
  let received: ReceivedLockEvent[];

  beforeAll(async () => {
    broker = await TestBroker.forService(names);
    received = await broker.bindLockEvents(names.exchange);
    // The service reaches RabbitMQ only through this proxy, so the test can take the broker away from it.
    const target = await TcpProxy.inFrontOf(TEST_RABBITMQ_URL, 5672);
    proxy = target.proxy;
    app = await startApp({ env: { ...rmqEnv(names, target.url), EVENTS_SOURCE: 'catalog' } });
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await broker?.close();
    if (app) await dropKeys(app.config.redisKeyPrefix);
  });

  it('publishes every transition, including those made while RabbitMQ was unreachable, in order per lock', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'outage-user' });
    const before = await lockAndMaybeUnlock(socket, 1, true);
    await eventually(() => byLock(received).get(before)?.length === 2, 'the events before the outage');

    proxy.cut();
    await eventually(async () => (await getJson<{ checks: Record<string, string> }>(app, '/ready')).body.checks.rabbitmq === 'down', '/ready to report rabbitmq down');
    const during = [
      await lockAndMaybeUnlock(socket, 1, true),
      await lockAndMaybeUnlock(socket, 2, true),
      await lockAndMaybeUnlock(socket, 3, false),
    ];
    // The lock path did not wait for the broker, and nothing could leave: the events wait in Redis.
    await sleep(1500);
    expect(received.filter((e) => during.includes(e.body.data.lockId))).toEqual([]);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await new RedisOutbox(redis, app.config.redisKeyPrefix).length()).toBe(5);
    } finally {
      redis.disconnect();
    }

    proxy.restore();
    await eventually(() => during.every((lockId) => (byLock(received).get(lockId)?.length ?? 0) >= (lockId === during[2] ? 1 : 2)), 'the events held back during the outage', 20_000);
    await sleep(500);
    const order = byLock(received);
    expect(order.get(before)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(order.get(during[0]!)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(order.get(during[1]!)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(order.get(during[2]!)).toEqual(['ticket-lock.created']);
    const ids = received.map((e) => e.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(received.every((e) => e.persistent && e.body.pattern === e.routingKey)).toBe(true);
    await eventually(async () => (await getJson<{ checks: Record<string, string> }>(app, '/ready')).body.checks.rabbitmq === 'up', '/ready to report rabbitmq up');
  });
});

/** Without Redis the in-process store has no stream: the relay drains an in-memory outbox instead. */
describe('RabbitMQ: lifecycle events without Redis', () => {
  const names = rmqNames('rmq-lifecycle-mem');
  let broker: TestBroker;
  let app: TestApp;
  let received: ReceivedLockEvent[];

  beforeAll(async () => {
    broker = await TestBroker.forService(names);
    received = await broker.bindLockEvents(names.exchange);
    app = await startApp({ env: { ...rmqEnv(names), EVENTS_SOURCE: 'catalog', REDIS_URL: undefined } });
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await app?.close();
    await broker?.close();
  });

  it('publishes created and released', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'memory-user' });
    const lockId = await lockAndMaybeUnlock(socket, 2, true);
    await eventually(() => byLock(received).get(lockId)?.length === 2, 'created + released');
    expect(byLock(received).get(lockId)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(received[0]?.body.data).toMatchObject({ lockId, eventId: 1, categoryId: 2, quantity: 1, userId: 'memory-user', status: 'ACTIVE' });
  });
});
