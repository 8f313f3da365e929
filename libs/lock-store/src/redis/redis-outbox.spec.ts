import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { LockTransition } from '#lock-domain';
import { TEST_REDIS_URL, dropKeys, uniqueName } from '../../../../test/support/services.js';
import { POLICY } from '../contract/index.js';
import { outboxKey } from './redis-keys.js';
import { RedisLockStore } from './redis-lock-store.js';
import { RedisOutbox } from './redis-outbox.js';

const prefixes: string[] = [];
afterAll(async () => {
  await Promise.all(prefixes.map(dropKeys));
});

describe('RedisOutbox: what this instance appended is not read back', () => {
  it('remembered entries come from the replies, the others are read whole, all in stream order', async () => {
    const prefix = uniqueName('tl-outbox');
    prefixes.push(prefix);
    const open = (origin: string) => new RedisLockStore({ redis: TEST_REDIS_URL, policy: POLICY, keyPrefix: prefix, outbox: true, origin });
    const [mine, theirs] = [open('me'), open('them')];
    const conn = new Redis(TEST_REDIS_URL);
    const outbox = new RedisOutbox(conn, prefix, ['rabbitmq'], 'me');
    try {
      await mine.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 10 }] }, { replaceTotals: false });
      const lock = async (store: RedisLockStore, userId: string): Promise<LockTransition[]> =>
        (await store.lock({ eventId: 1, categoryId: 'A', userId, sessionId: 's', hold: { kind: 'quantity', quantity: 1 } })).transitions;
      const first = await lock(mine, 'u1');
      outbox.remember(first);
      const other = await lock(theirs, 'u2');
      const forgotten = await lock(mine, 'u3'); // never remembered: read from the stream

      // Each reply names the entry it appended; each entry names its origin.
      const rows = await conn.xrange(outboxKey(prefix), '-', '+');
      expect([...first, ...other, ...forgotten].map((t) => t.outboxId)).toEqual(rows.map(([id]) => id));
      expect(rows.map(([, fields]) => fields[fields.indexOf('origin') + 1])).toEqual(['me', 'them', 'me']);

      const xrange = vi.spyOn(conn, 'xrange');
      const batch = await outbox.read('rabbitmq', 10);
      const asEntries = (list: LockTransition[]) => list.map(({ event, lock, outboxId }) => ({ id: outboxId, event, lock }));
      expect(batch).toEqual({ entries: asEntries([...first, ...other, ...forgotten]), unreadable: [], last: forgotten[0]?.outboxId });
      // The remembered body is the reply's own object; only the forgotten one cost a read of its own.
      expect(batch.entries[0]?.lock).toBe(first[0]?.lock);
      expect(xrange.mock.calls).toEqual([[outboxKey(prefix), forgotten[0]?.outboxId, forgotten[0]?.outboxId]]);
    } finally {
      await Promise.all([mine.close(), theirs.close()]);
      conn.disconnect();
    }
  });

  it('a body handed over in the same turn as the read is still taken from the reply, not read back', async () => {
    const prefix = uniqueName('tl-outbox');
    prefixes.push(prefix);
    const store = new RedisLockStore({ redis: TEST_REDIS_URL, policy: POLICY, keyPrefix: prefix, outbox: true, origin: 'me' });
    const conn = new Redis(TEST_REDIS_URL);
    const outbox = new RedisOutbox(conn, prefix, ['rabbitmq'], 'me');
    try {
      await store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 10 }] }, { replaceTotals: false });
      const { transitions } = await store.lock({ eventId: 1, categoryId: 'A', userId: 'u1', sessionId: 's', hold: { kind: 'quantity', quantity: 1 } });
      // The lock's reply is handed over right after the read's answer, before the next turn.
      const scripts = conn as unknown as { tlOutboxRead: (...args: string[]) => Promise<unknown> };
      const original = scripts.tlOutboxRead.bind(conn);
      vi.spyOn(scripts, 'tlOutboxRead').mockImplementationOnce(async (...args: string[]) => {
        const flat = await original(...args);
        setImmediate(() => outbox.remember(transitions));
        return flat;
      });
      const xrange = vi.spyOn(conn, 'xrange');
      const batch = await outbox.read('rabbitmq', 10);
      expect(batch.entries.map((entry) => entry.lock)).toEqual([transitions[0]?.lock]);
      expect(batch.entries[0]?.lock).toBe(transitions[0]?.lock);
      expect(xrange).not.toHaveBeenCalled();
    } finally {
      await store.close();
      conn.disconnect();
    }
  });

  it('keeps at most 10,000 bodies', () => {
    const outbox = new RedisOutbox(new Redis(TEST_REDIS_URL, { lazyConnect: true }), uniqueName('tl-outbox'), ['rabbitmq'], 'me');
    const lock = { lockId: 'l', eventId: 1, categoryId: 'A', quantity: 1, userId: 'u', sessionId: 's', status: 'ACTIVE' as const, createdAt: 0, expiresAt: 1 };
    outbox.remember(Array.from({ length: 10_001 }, (_, i) => ({ event: 'created' as const, lock, outboxId: `1-${i}` })));
    expect(outbox.remembered).toBe(10_000);
  });

  it('without an origin every entry is read whole; acknowledged bodies are let go', async () => {
    const prefix = uniqueName('tl-outbox');
    prefixes.push(prefix);
    const store = new RedisLockStore({ redis: TEST_REDIS_URL, policy: POLICY, keyPrefix: prefix, outbox: true, origin: 'me' });
    const conn = new Redis(TEST_REDIS_URL);
    const blind = new RedisOutbox(conn, prefix, ['rabbitmq']);
    const outbox = new RedisOutbox(conn, prefix, ['rabbitmq', 'mqtt'], 'me');
    try {
      await store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 10 }] }, { replaceTotals: false });
      const { transitions } = await store.lock({ eventId: 1, categoryId: 'A', userId: 'u1', sessionId: 's', hold: { kind: 'quantity', quantity: 1 } });
      outbox.remember(transitions);
      const id = transitions[0]?.outboxId ?? '';
      const whole = await blind.read('rabbitmq', 10);
      expect(whole.entries).toEqual([{ id, event: 'created', lock: transitions[0]?.lock }]);
      expect(whole.entries[0]?.lock).not.toBe(transitions[0]?.lock);

      // Kept until every sink has it through this instance.
      for (const sink of ['rabbitmq', 'mqtt']) expect(await outbox.holdLease(sink, 'test', 5000)).toBe(true);
      expect(await outbox.ack('rabbitmq', 'test', id)).toBe(true);
      expect(outbox.remembered).toBe(1);
      expect(await outbox.ack('mqtt', 'test', id)).toBe(true);
      expect(outbox.remembered).toBe(0);
      expect(await outbox.length()).toBe(0);
    } finally {
      await store.close();
      conn.disconnect();
    }
  });
});
