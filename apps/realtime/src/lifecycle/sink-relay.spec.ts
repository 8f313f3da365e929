import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { LockStore } from '#lock-domain';
import { InProcessLockStore, RedisLockStore, RedisOutbox } from '#lock-store';
import { TEST_REDIS_URL, uniqueName } from '../../../../test/support/services.js';
import type { LifecycleEntry, LifecycleSink } from './lifecycle-sink.js';
import { InMemoryOutbox, type Outbox } from './outbox.js';
import { SinkRelay } from './sink-relay.js';

const POLICY = { lockDurationMs: 60_000, maxLifetimeMs: 180_000, maxActiveLocksPerUser: 50, maxTicketsPerLock: 4, retentionMs: 60_000 };
const admin = new Redis(TEST_REDIS_URL);
const prefixes: string[] = [];

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await admin.keys(`{${prefix}}:*`);
    if (keys.length > 0) await admin.del(...keys);
  }
  await admin.quit();
});

/** A sink that keeps what it is given; while `down`, it refuses every batch (an outage). */
class FakeSink implements LifecycleSink {
  readonly received: LifecycleEntry[] = [];
  constructor(
    readonly name: string,
    public down = false,
  ) {}

  async publish(batch: readonly LifecycleEntry[]): Promise<void> {
    if (this.down) throw new Error(`${this.name} is away`);
    this.received.push(...batch);
  }
}

/** Each lock's events, in arrival order. */
function byLock(entries: readonly LifecycleEntry[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const { lock, event } of entries) map.set(lock.lockId, [...(map.get(lock.lockId) ?? []), event]);
  return map;
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** 6 locks: two released, two confirmed, two left ACTIVE; 10 transitions in all. */
async function transitions(store: LockStore, onChange: () => void): Promise<Map<string, string[]>> {
  await store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 100 }] }, { replaceTotals: false });
  const expected = new Map<string, string[]>();
  for (let i = 0; i < 6; i++) {
    const { lock } = (await store.lock({ eventId: 1, categoryId: 'A', userId: `u${i}`, sessionId: 's', hold: { kind: 'quantity', quantity: 1 } })).value;
    expected.set(lock.lockId, ['created']);
    if (i < 2) await store.release(lock.lockId);
    else if (i < 4) await store.confirm(lock.lockId, `o${i}`);
    if (i < 2) expected.set(lock.lockId, ['created', 'released']);
    else if (i < 4) expected.set(lock.lockId, ['created', 'confirmed']);
    onChange();
  }
  return expected;
}

describe('lifecycle sinks: each gets every event, in order per lock', () => {
  it('on Redis: two sinks with their own cursors; one down for a while; entries trimmed once both have them', async () => {
    const prefix = uniqueName('tl-sinks');
    prefixes.push(prefix);
    const store = new RedisLockStore({ redis: TEST_REDIS_URL, policy: POLICY, keyPrefix: prefix, outbox: true });
    const relayRedis = new Redis(TEST_REDIS_URL);
    const outbox = new RedisOutbox(relayRedis, prefix, ['rabbitmq', 'fake']);
    const steady = new FakeSink('rabbitmq');
    const flaky = new FakeSink('fake', true);
    const relays = [steady, flaky].map((sink) => new SinkRelay(outbox, sink, { owner: 'test', idlePollMs: 20, retryMs: 50, batchSize: 3 }));
    try {
      for (const relay of relays) relay.start();
      const expected = await transitions(store, () => relays.forEach((relay) => relay.notify()));

      await eventually(() => steady.received.length === 10, 'the steady sink to get all 10 events');
      // The other sink is down: nothing it lacks is trimmed.
      expect(flaky.received).toEqual([]);
      expect(await outbox.length()).toBe(10);
      flaky.down = false;

      await eventually(() => flaky.received.length === 10, 'the flaky sink to catch up');
      for (const sink of [steady, flaky]) {
        expect(byLock(sink.received), sink.name).toEqual(expected);
        expect(new Set(sink.received.map((e) => e.id)).size).toBe(10);
      }
      await eventually(async () => (await outbox.length()) === 0, 'the stream to be trimmed once both sinks have everything');
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
      await store.close();
      relayRedis.disconnect();
    }
  });

  it('in memory: the same with two sinks', async () => {
    const outbox = new InMemoryOutbox(['rabbitmq', 'fake']);
    const store = new InProcessLockStore(POLICY);
    const steady = new FakeSink('rabbitmq');
    const flaky = new FakeSink('fake', true);
    const relays = [steady, flaky].map((sink) => new SinkRelay(outbox as Outbox, sink, { owner: 'test', idlePollMs: 20, retryMs: 50, batchSize: 4 }));
    try {
      for (const relay of relays) relay.start();
      const expected = await transitions(
        {
          ...store,
          defineEvent: store.defineEvent.bind(store),
          lock: async (request) => record(await store.lock(request)),
          release: async (lockId, reason, userId) => record(await store.release(lockId, reason, userId)),
          confirm: async (lockId, orderId) => record(await store.confirm(lockId, orderId)),
        } as LockStore,
        () => relays.forEach((relay) => relay.notify()),
      );
      await eventually(() => steady.received.length === 10, 'the steady sink to get all 10 events');
      expect(outbox.length).toBe(10);
      flaky.down = false;
      await eventually(() => flaky.received.length === 10, 'the other sink to catch up');
      for (const sink of [steady, flaky]) expect(byLock(sink.received), sink.name).toEqual(expected);
      expect(outbox.length).toBe(0);
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
    }

    /** What the changes bus does without Redis: every transition goes into the in-memory outbox. */
    function record<T extends { transitions: { event: LifecycleEntry['event']; lock: LifecycleEntry['lock'] }[] }>(reply: T): T {
      for (const { event, lock } of reply.transitions) outbox.append({ event, lock });
      return reply;
    }
  });
});
