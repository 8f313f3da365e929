import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Availability } from '#lock-domain';
import { userRoom, type LockNotification } from '#contracts';
import { RealtimeNamespaceRef } from '../apps/realtime/src/gateway/realtime-namespace.js';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { RealtimeRmqServer } from '../apps/realtime/src/rmq/realtime-rmq.server.js';
import { dropKeys, getJson, startApp, type TestApp } from './support/app.js';
import { closeAll, collect, connect, next, ok, request, sleep } from './support/clients.js';
import { TestBroker, eventually, rmqEnv, rmqNames, type ReceivedLockEvent } from './support/rmq-broker.js';
import { uniqueName } from './support/services.js';

/** Which messages an instance's consumer acknowledged (their bodies). */
function ackedBodies(app: TestApp): { bodies: string[]; restore(): void } {
  const server = app.app.get(RealtimeRmqServer);
  const original = server.acknowledge.bind(server);
  const bodies: string[] = [];
  server.acknowledge = (channel: ConfirmChannel, message: ConsumeMessage) => {
    bodies.push(message.content.toString('utf8'));
    original(channel, message);
  };
  return { bodies, restore: () => (server.acknowledge = original) };
}

/**
 * Two instances in one run, one Redis key prefix, one RabbitMQ broker: what CONTRACT §2/§4 says
 * spans "every instance". Already proven in test/cluster.e2e-spec.ts and not repeated here: a room
 * member on one instance sees the availability changes made on the other, the owner's tabs on the
 * other instance hear about the owner's locks, `/stats` counts both instances, and a user who
 * reconnects to the other instance within the grace period keeps the locks. Rate limit across
 * instances: test/rate-limit-cluster.e2e-spec.ts.
 *
 * Here both instances run with RabbitMQ. Instance A alone consumes the queue the test sends to;
 * B consumes a queue of its own, so a message on the shared queue is certainly handled by A.
 */
describe('two instances with Redis and RabbitMQ', () => {
  const prefix = uniqueName('e2e-multi');
  const names = rmqNames('multi');
  const queueOfB = `${names.realtimeQueue}.b`;
  let broker: TestBroker;
  let created: ReceivedLockEvent[];
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    broker = await TestBroker.forService(names);
    broker.trackRealtimeQueue(queueOfB);
    created = await broker.bindLockEvents(names.exchange, 'ticket-lock.created');
    const env = { ...rmqEnv(names), REDIS_KEY_PREFIX: prefix, EVENTS_SOURCE: 'catalog' };
    a = await startApp({ env });
    b = await startApp({ env: { ...env, REALTIME_QUEUE: queueOfB } });
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await broker?.close();
    await dropKeys(prefix);
  });

  it('notify-user consumed by A reaches the user connected only to B, once', async () => {
    const { socket: onB } = await connect(b.socketUrl, { userId: 'pushed' });
    const { socket: bystander } = await connect(a.socketUrl, { userId: 'bystander' });
    const pushed = collect<unknown>(onB, 'order-status');
    const strayed = collect<unknown>(bystander, 'order-status');
    const [ackedByA, ackedByB] = [ackedBodies(a), ackedBodies(b)];
    try {
      // The user has no socket on A: the push can only reach it through the adapter.
      const localSockets = async (app: TestApp) => (await app.app.get(RealtimeNamespaceRef).get()?.local.in(userRoom('pushed')).fetchSockets())?.length;
      expect([await localSockets(a), await localSockets(b)]).toEqual([0, 1]);
      const message = { pattern: 'notify-user', data: { userId: 'pushed', type: 'order-status', payload: { orderId: 'o-multi', state: 'paid' } } };
      await broker.publishRaw(names.realtimeQueue, JSON.stringify(message), { persistent: true });
      await eventually(() => pushed.length > 0, 'the push on B');
      await sleep(500);
      expect(pushed).toEqual([{ orderId: 'o-multi', state: 'paid' }]);
      expect(strayed).toEqual([]);
      expect(ackedByA.bodies.filter((body) => body.includes('o-multi'))).toHaveLength(1);
      expect(ackedByB.bodies).toEqual([]);
    } finally {
      ackedByA.restore();
      ackedByB.restore();
    }
  });

  it('a confirm consumed by A for a lock made on B reaches the owner and a room member on B', async () => {
    const { socket: owner } = await connect(b.socketUrl, { userId: 'owner-b' });
    const { socket: watcher } = await connect(b.socketUrl, { userId: 'watcher-b' });
    ok(await request(watcher, 'join-event-room', { eventId: 'fest-2027' }));
    const lock = ok(await request(owner, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 3 }));
    const confirmed = next<LockNotification>(owner, 'lock-confirmed', (n) => n.lockId === lock.lockId);
    const sold = next<Availability>(watcher, 'availability-update', (u) => u.categoryId === 'early-bird' && u.soldTickets === 3);
    const acked = ackedBodies(a);
    try {
      await broker.publishRaw(names.realtimeQueue, JSON.stringify({ pattern: 'confirm-ticket-lock', data: { lockId: lock.lockId, orderId: 'o-b' } }), { persistent: true });
      expect(await confirmed).toMatchObject({ lockId: lock.lockId, status: 'CONFIRMED' });
      expect(await sold).toMatchObject({ totalTickets: 20, lockedTickets: 0, availableTickets: 17 });
      expect(acked.bodies.filter((body) => body.includes(lock.lockId))).toHaveLength(1);
    } finally {
      acked.restore();
    }
  });

  it('150 clients split over both instances race for 100 tickets: exactly 100 granted, everywhere', async () => {
    // A room member on each instance, to see the final counts arrive on both.
    const watchers = await Promise.all([a, b].map(async (app, i) => (await connect(app.socketUrl, { userId: `race-watcher-${i}` })).socket));
    for (const watcher of watchers) ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    const finalCounts = watchers.map((watcher) => next<Availability>(watcher, 'availability-update', (u) => u.categoryId === 2 && u.lockedTickets === 100));
    const clients = await Promise.all(Array.from({ length: 150 }, (_, i) => connect((i % 2 === 0 ? a : b).socketUrl, { userId: `racer-${i}` })));

    // Category 2 of event 1 has exactly 100 tickets; every client asks for one, all at once.
    const answers = await Promise.all(clients.map(({ socket }) => request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 })));

    const granted = answers.flatMap((answer) => (answer.success ? [answer.lockId] : []));
    const refusals = answers.flatMap((answer) => (answer.success ? [] : [answer.code]));
    expect(granted).toHaveLength(100);
    expect(new Set(granted).size).toBe(100);
    expect(refusals).toEqual(Array.from({ length: 50 }, () => 'INSUFFICIENT_TICKETS'));
    // Both instances had winners: the race really was between them.
    const winnersOn = (parity: number) => answers.filter((answer, i) => answer.success && i % 2 === parity).length;
    expect(winnersOn(0)).toBeGreaterThan(0);
    expect(winnersOn(1)).toBeGreaterThan(0);

    // The same counts on both instances' HTTP side and in their rooms.
    for (const app of [a, b]) {
      const { body } = await getJson<Availability[]>(app, '/events/1/availability');
      expect(body.find((c) => c.categoryId === 2)).toMatchObject({ totalTickets: 100, lockedTickets: 100, availableTickets: 0, soldTickets: 0 });
    }
    for (const update of await Promise.all(finalCounts)) expect(update).toMatchObject({ lockedTickets: 100, availableTickets: 0 });

    // A recount of the locks themselves, and one ticket-lock.created per lock on the exchange.
    const store = a.app.get(LockService);
    const held = (await Promise.all(clients.map((_, i) => store.myLocks(`racer-${i}`)))).flat().filter((lock) => lock.categoryId === 2);
    expect(new Set(held.map((lock) => lock.lockId))).toEqual(new Set(granted));
    await eventually(() => created.filter((event) => granted.includes(event.body.data.lockId)).length >= 100, '100 ticket-lock.created');
    await sleep(500);
    const published = created.filter((event) => granted.includes(event.body.data.lockId));
    expect(new Set(published.map((event) => event.messageId)).size).toBe(100);
    expect(new Set(published.map((event) => event.body.data.lockId))).toEqual(new Set(granted));
  });
});
