import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { firstValueFrom, timeout } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Availability } from '#lock-domain';
import type { Answer, LockCommandReply, LockNotification, LockTicketsResult, UnlockTicketsResult } from '#contracts';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { RealtimeRmqServer } from '../apps/realtime/src/rmq/realtime-rmq.server.js';
import { getJson } from './support/app.js';
import { collect, connect, ok, request, sleep, type TestSocket } from './support/clients.js';
import { eventually, type ReceivedLockEvent } from './support/rmq-broker.js';
import { useRmqApp } from './support/rmq-app.js';

const EVENT = 'faults';
/** Small on purpose: 30 users asking for 1–3 tickets each compete for it, so refusals and re-grants happen all along. */
const CAPACITY = 40;
const CATALOG = {
  events: [
    {
      id: EVENT,
      name: 'Faults',
      categories: [
        { categoryId: 'load', totalTickets: CAPACITY },
        { categoryId: 'confirm-redis', totalTickets: 1000 },
        { categoryId: 'confirm-rmq', totalTickets: 1000 },
      ],
    },
  ],
};
/**
 * The longest a request may wait for its answer while Redis is away. The store's connection fails a
 * request at once when the connection is down (no offline queue), after one reconnection attempt
 * when it drops under the request (maxRetriesPerRequest 1, a retry within 2 s), and after 2 s when
 * Redis stops answering on an open connection (commandTimeout 2000). One Lua call per request, so
 * 2 s plus scheduling; 5 s leaves room for a slow CI machine while still telling a bounded failure
 * from an ack that hangs (which the test would see as 10 s, or never).
 */
const ACK_BOUND_MS = 5000;
/** A request without an answer after this is recorded as hanging. */
const HANG_MS = 10_000;

type ReadyBody = { status: string; checks: Record<string, string> };

/** One line the lead can quote: what a fault test did and what came of it. */
function figures(name: string, values: Record<string, number | string>): void {
  console.log(`[faults] ${name}: ${Object.entries(values).map(([key, value]) => `${key} ${value}`).join(', ')}`);
}

function perLock(lockIds: string[], seen: string[]): { counts: Map<string, number>; lost: number; duplicated: number } {
  const counts = new Map(lockIds.map((lockId) => [lockId, 0]));
  for (const lockId of seen) if (counts.has(lockId)) counts.set(lockId, (counts.get(lockId) ?? 0) + 1);
  const values = [...counts.values()];
  return { counts, lost: values.filter((n) => n === 0).length, duplicated: values.reduce((sum, n) => sum + Math.max(0, n - 1), 0) };
}

describe('faults: Redis and RabbitMQ cut and restored under load', () => {
  // The service reaches Redis (store, adapter, rate limiter, outbox) and RabbitMQ (consumer,
  // lifecycle publisher) only through proxies; the test's own connections go direct.
  const t = useRmqApp('faults', {
    proxy: { redis: true, rabbitmq: true },
    orders: true,
    catalog: CATALOG,
    env: {
      // On, so that it is in the path of every request during the outages too, but never reached.
      RATE_LIMIT_PER_MINUTE: '100000',
      MAX_ACTIVE_LOCKS_PER_USER: '1000',
    },
  });

  const ready = async () => (await getJson<ReadyBody>(t.app, '/ready'));
  const availability = async (categoryId: string): Promise<Availability> => {
    const all = await t.app.app.get(LockService).eventAvailability(EVENT);
    const found = all.find((a) => a.categoryId === categoryId);
    if (!found) throw new Error(`no category ${categoryId}`);
    return found;
  };

  it('Redis cut, then hung, mid-load: bounded INTERNAL_ERROR answers, /ready 503 then 200 by itself, no oversell, nothing lost or doubled', async () => {
    type Phase = 'before' | 'cut' | 'after cut' | 'stall' | 'after stall';
    let phase: Phase = 'before';
    let running = true;
    const tally = { attempted: 0, failedFast: 0, refused: 0, granted: 0, released: 0, answerLostRecovered: 0, hung: 0, maxAckMs: 0 };
    const failedIn = new Map<Phase, number>();
    const unexpected: string[] = [];

    /** One attempt: the answer, or `null` when none came within HANG_MS. */
    const attempt = async <T>(socket: TestSocket, event: 'lock-tickets' | 'unlock-tickets', payload: unknown): Promise<Answer<T> | null> => {
      tally.attempted += 1;
      const started = Date.now();
      const timed = socket.timeout(HANG_MS);
      const emit = timed.emitWithAck.bind(timed) as unknown as (event: string, payload: unknown) => Promise<Answer<T>>;
      try {
        return await emit(event, payload);
      } catch {
        tally.hung += 1;
        return null;
      } finally {
        tally.maxAckMs = Math.max(tally.maxAckMs, Date.now() - started);
      }
    };
    /** Repeats a request after a retryable failure, as a client should, until a final answer. */
    const untilFinal = async <T>(socket: TestSocket, event: 'lock-tickets' | 'unlock-tickets', payload: unknown): Promise<{ answer: Answer<T>; retried: boolean }> => {
      for (let tries = 0; ; tries += 1) {
        const answer = await attempt<T>(socket, event, payload);
        if (answer && (answer.success || answer.code !== 'INTERNAL_ERROR')) return { answer, retried: tries > 0 };
        if (answer) {
          tally.failedFast += 1;
          failedIn.set(phase, (failedIn.get(phase) ?? 0) + 1);
        }
        if (tries > 300) throw new Error(`${event} never got a final answer`);
        await sleep(100);
      }
    };

    const users = await Promise.all(Array.from({ length: 30 }, (_, i) => connect(t.app.socketUrl, { userId: `load-${i}` })));
    const loops = users.map(async ({ socket }, i) => {
      let held: { lockId: string; quantity: number } | undefined;
      for (let n = 0; running; n += 1) {
        if (!held) {
          // A fresh requestId per lock, repeated on its retries: a lock committed whose answer was lost comes back the same.
          const payload = { eventId: EVENT, categoryId: 'load', quantity: 1 + ((i + n) % 3), requestId: `load-${i}-${n}` };
          const { answer } = await untilFinal<LockTicketsResult>(socket, 'lock-tickets', payload);
          if (answer.success) {
            tally.granted += 1;
            held = { lockId: answer.lockId, quantity: answer.quantity };
          } else if (answer.code === 'INSUFFICIENT_TICKETS') {
            tally.refused += 1;
            await sleep(20);
          } else unexpected.push(`lock: ${answer.code}`);
        } else {
          const { answer, retried } = await untilFinal<UnlockTicketsResult>(socket, 'unlock-tickets', { lockId: held.lockId });
          if (answer.success) {
            tally.released += 1;
            held = undefined;
          } else if (retried && answer.code === 'LOCK_NOT_ACTIVE') {
            // An attempt that failed for the client had in fact gone through before the connection dropped.
            tally.answerLostRecovered += 1;
            tally.released += 1;
            held = undefined;
          } else unexpected.push(`unlock: ${answer.code}`);
        }
      }
      return { userId: `load-${i}`, held };
    });

    const outage = async (name: 'cut' | 'stall', cause: () => void) => {
      phase = name;
      cause();
      await eventually(async () => {
        const { status, body } = await ready();
        return status === 503 && body.checks.redis === 'down';
      }, `/ready to say redis down (${name})`);
      await sleep(2500);
      phase = `after ${name}`;
      t.redisProxy.restore();
      // Nobody restarts anything: the service's connections come back on their own.
      await eventually(async () => (await ready()).status === 200, `/ready to be 200 again after the ${name}`, 15_000);
      await sleep(1000);
    };

    await sleep(1000);
    await outage('cut', () => t.redisProxy.cut());
    await outage('stall', () => t.redisProxy.stall());
    running = false;
    const final = await Promise.all(loops);

    // The truth in Redis against what the clients were told.
    const store = t.app.app.get(LockService);
    let lost = 0;
    let duplicated = 0;
    let recount = 0;
    for (const { userId, held } of final) {
      const inStore = (await store.myLocks(userId)).filter((lock) => lock.categoryId === 'load');
      recount += inStore.reduce((sum, lock) => sum + lock.quantity, 0);
      if (held && !inStore.some((lock) => lock.lockId === held.lockId)) lost += 1;
      duplicated += inStore.filter((lock) => lock.lockId !== held?.lockId).length;
    }
    const believed = final.reduce((sum, { held }) => sum + (held?.quantity ?? 0), 0);
    const counts = await availability('load');
    figures('Redis cut 2.5 s + hung 2.5 s under 30 clients', {
      'requests attempted': tally.attempted,
      'failed fast (INTERNAL_ERROR)': tally.failedFast,
      'in the cut': failedIn.get('cut') ?? 0,
      'in the hang': failedIn.get('stall') ?? 0,
      'max ack ms': tally.maxAckMs,
      hung: tally.hung,
      granted: tally.granted,
      refused: tally.refused,
      'committed but answer lost, recovered by the retry': tally.answerLostRecovered,
      lost,
      duplicated,
      'held at the end': `${counts.lockedTickets}/${CAPACITY}`,
    });

    expect(unexpected).toEqual([]);
    expect(tally.hung).toBe(0);
    expect(tally.maxAckMs).toBeLessThan(ACK_BOUND_MS);
    // Both outages did hit requests in flight, and each was answered INTERNAL_ERROR (retryable).
    expect(failedIn.get('cut') ?? 0).toBeGreaterThan(0);
    expect(failedIn.get('stall') ?? 0).toBeGreaterThan(0);
    expect(tally.granted).toBeGreaterThan(CAPACITY);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    // No oversell, and the counters Redis keeps agree with a recount of the locks themselves.
    expect(counts.lockedTickets).toBe(recount);
    expect(counts.lockedTickets).toBe(believed);
    expect(counts.lockedTickets + counts.soldTickets).toBeLessThanOrEqual(CAPACITY);
    expect(counts.availableTickets).toBe(CAPACITY - counts.lockedTickets);
  }, 60_000);

  /** Owners, each holding one lock of `categoryId`, listening for `lock-confirmed`. */
  async function owners(prefix: string, count: number, categoryId: string) {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const { socket } = await connect(t.app.socketUrl, { userId: `${prefix}-${i}` });
        const confirmed = collect<LockNotification>(socket, 'lock-confirmed');
        const lock = ok(await request(socket, 'lock-tickets', { eventId: EVENT, categoryId, quantity: 1 + (i % 3) }));
        return { lockId: lock.lockId, quantity: lock.quantity, confirmed };
      }),
    );
  }

  /** Counts the consumer's acks (and how many were of redelivered messages). */
  function countAcks(): { acked: () => number; redelivered: () => number; restore(): void } {
    const server = t.app.app.get(RealtimeRmqServer);
    const original = server.acknowledge.bind(server);
    let acked = 0;
    let redelivered = 0;
    server.acknowledge = (channel: ConfirmChannel, message: ConsumeMessage) => {
      acked += 1;
      if (message.fields.redelivered) redelivered += 1;
      original(channel, message);
    };
    return { acked: () => acked, redelivered: () => redelivered, restore: () => (server.acknowledge = original) };
  }

  async function expectExactlyOnce(
    name: string,
    locks: Array<{ lockId: string; quantity: number; confirmed: LockNotification[] }>,
    received: ReceivedLockEvent[],
    categoryId: string,
    extra: Record<string, number>,
  ) {
    const lockIds = locks.map((lock) => lock.lockId);
    const published = () => received.filter((event) => lockIds.includes(event.body.data.lockId));
    await eventually(() => new Set(published().map((event) => event.body.data.lockId)).size === locks.length, 'every ticket-lock.confirmed', 20_000);
    await eventually(() => locks.every((lock) => lock.confirmed.length > 0), 'every lock-confirmed notification', 20_000);
    // Anything doubled would arrive right behind.
    await sleep(1000);
    const notified = perLock(lockIds, locks.flatMap((lock) => lock.confirmed.map((n) => n.lockId)));
    // At-least-once on the wire: a repeat carries the same messageId; consumers dedupe on it.
    const events = perLock(lockIds, [...new Map(published().map((event) => [event.messageId, event.body.data.lockId])).values()]);
    const rawRepeats = published().length - new Set(published().map((event) => event.messageId)).size;
    const counts = await availability(categoryId);
    const statuses = await Promise.all(lockIds.map(async (lockId) => (await t.app.app.get(LockService).get(lockId))?.status));
    const sold = locks.reduce((sum, lock) => sum + lock.quantity, 0);
    figures(name, {
      ...extra,
      'lock-confirmed lost': notified.lost,
      'lock-confirmed duplicated': notified.duplicated,
      'ticket-lock.confirmed lost': events.lost,
      'ticket-lock.confirmed duplicated': events.duplicated,
      'repeats with the same messageId': rawRepeats,
      sold: `${counts.soldTickets}/${sold}`,
    });
    expect(statuses.every((status) => status === 'CONFIRMED')).toBe(true);
    expect([...notified.counts.values()].every((n) => n === 1)).toBe(true);
    expect([...events.counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts).toMatchObject({ soldTickets: sold, lockedTickets: 0 });
    expect(await t.broker.messageCount(`${t.names.realtimeQueue}.dead-letter`)).toBe(0);
  }

  it('confirms sent over RabbitMQ while Redis is cut are applied exactly once after it comes back', async () => {
    const received = await t.broker.bindLockEvents(t.names.exchange, 'ticket-lock.confirmed');
    const locks = await owners('confirm-redis', 30, 'confirm-redis');
    const acks = countAcks();
    try {
      t.redisProxy.cut();
      await eventually(async () => (await ready()).body.checks.redis === 'down', '/ready to say redis down');
      // Every third confirm is sent twice, as an Orders service retrying after its own timeout would.
      const sent = locks.flatMap((lock, i) => Array.from({ length: i % 3 === 0 ? 2 : 1 }, () => ({ lockId: lock.lockId, orderId: `order-${lock.lockId}` })));
      const replies = Promise.all(
        sent.map((data) => firstValueFrom(t.orders.client.send<LockCommandReply>('confirm-ticket-lock', data).pipe(timeout(30_000)))),
      );
      await sleep(2500);
      // Nothing could be committed, so nothing was acked: the messages wait in the queue.
      expect(acks.acked()).toBe(0);
      t.redisProxy.restore();
      const answers = await replies;
      expect(answers).toEqual(sent.map(({ lockId }) => ({ success: true, lockId, status: 'CONFIRMED' })));
      await expectExactlyOnce('confirms during a Redis cut (2.5 s)', locks, received, 'confirm-redis', {
        'confirms sent': sent.length,
        locks: locks.length,
        acked: acks.acked(),
        'acked on redelivery': acks.redelivered(),
      });
      expect(acks.acked()).toBe(sent.length);
    } finally {
      acks.restore();
    }
  }, 60_000);

  it('confirms streaming in while the consumer loses RabbitMQ are applied exactly once after it reconnects', async () => {
    const received = await t.broker.bindLockEvents(t.names.exchange, 'ticket-lock.confirmed');
    const locks = await owners('confirm-rmq', 40, 'confirm-rmq');
    const acks = countAcks();
    try {
      // Every fourth confirm is published twice. Persistent, straight to the broker (the producer is not cut).
      const stream = locks.flatMap((lock, i) => Array.from({ length: i % 4 === 0 ? 2 : 1 }, () => lock.lockId));
      let cutAt = 0;
      for (const [n, lockId] of stream.entries()) {
        if (n === 12) {
          t.rabbitProxy.cut();
          cutAt = Date.now();
        }
        await t.broker.publishRaw(t.names.realtimeQueue, JSON.stringify({ pattern: 'confirm-ticket-lock', data: { lockId, orderId: `order-${lockId}` } }), {
          persistent: true,
        });
        // A burst around the cut, so that some messages are likely delivered and not yet acked when it comes.
        if (n < 8 || n >= 16) await sleep(40);
      }
      await eventually(async () => {
        const { status, body } = await ready();
        return status === 503 && body.checks.rabbitmq === 'down';
      }, '/ready to say rabbitmq down');
      const ackedDuringCut = acks.acked();
      await sleep(Math.max(0, cutAt + 2500 - Date.now()));
      t.rabbitProxy.restore();
      await eventually(async () => (await ready()).status === 200, '/ready to be 200 again', 20_000);
      await expectExactlyOnce('confirms while the consumer lost RabbitMQ (2.5 s)', locks, received, 'confirm-rmq', {
        'confirms published': stream.length,
        locks: locks.length,
        'acked before the cut': ackedDuringCut,
        acked: acks.acked(),
        'acked on redelivery': acks.redelivered(),
      });
      // The consumer came back by itself and took the rest: none left. (An ack attempted on the channel
      // the cut closed did not count: that message came back and was acked again, with one effect.)
      expect(ackedDuringCut).toBeLessThan(stream.length);
      expect(acks.acked()).toBeGreaterThanOrEqual(stream.length);
      expect(await t.broker.messageCount(t.names.realtimeQueue)).toBe(0);
    } finally {
      acks.restore();
    }
  }, 60_000);
});
