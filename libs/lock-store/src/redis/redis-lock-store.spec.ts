import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LockError, effectiveStatus, type LockChanges, type LockPolicy, type LockRecord, type LockTransition } from '#lock-domain';
import { TEST_REDIS_URL, uniqueName } from '../../../../test/support/services.js';
import { POLICY, lockStoreContract } from '../contract/index.js';
import { changesChannel, feedsKey, keyBase, lockKey, outboxKey } from './redis-keys.js';
import { RedisLockChangeFeed } from './redis-change-feed.js';
import { RedisLockStore } from './redis-lock-store.js';

const refusalChanges = (error: unknown) => (error instanceof LockError ? error.changes : undefined);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One connection for inspecting Redis and for dropping every prefix the tests used. */
const admin = new Redis(TEST_REDIS_URL);
const prefixes: string[] = [];

function newPrefix(): string {
  const prefix = uniqueName('tl-test');
  prefixes.push(prefix);
  return prefix;
}

async function keysOf(prefix: string, pattern = '*'): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${keyBase(prefix)}:${pattern}`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

async function redisNow(): Promise<number> {
  const [seconds, micros] = await admin.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await keysOf(prefix);
    if (keys.length > 0) await admin.del(...keys);
  }
  await admin.quit();
});

async function codeOf(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'granted',
    (error: unknown) => (error instanceof LockError ? error.code : `unexpected: ${String(error)}`),
  );
}

lockStoreContract('RedisLockStore', async (policy) => new RedisLockStore({ redis: TEST_REDIS_URL, policy, keyPrefix: newPrefix() }));

describe('RedisLockStore (Redis specifics)', () => {
  const opened: RedisLockStore[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  function open(prefix: string, overrides: Partial<LockPolicy> = {}, outbox = false, origin?: string): RedisLockStore {
    const store = new RedisLockStore({
      redis: TEST_REDIS_URL,
      policy: { ...POLICY, ...overrides },
      keyPrefix: prefix,
      outbox,
      ...(origin === undefined ? {} : { origin }),
    });
    opened.push(store);
    return store;
  }

  describe('race: one connection per caller', () => {
    const CALLERS = 240;
    const racers: RedisLockStore[] = [];
    let prefix: string;

    beforeAll(async () => {
      prefix = newPrefix();
      for (let i = 0; i < CALLERS; i++) racers.push(new RedisLockStore({ redis: TEST_REDIS_URL, policy: POLICY, keyPrefix: prefix }));
      // Connected up front, so the calls below really meet at the server.
      expect((await Promise.all(racers.map((s) => s.ping()))).every(Boolean)).toBe(true);
    });

    afterAll(async () => {
      await Promise.all(racers.map((s) => s.close()));
    });

    it(`${CALLERS} concurrent locks of 1 for 50 tickets: exactly 50 granted`, async () => {
      const [first] = racers;
      await first!.defineEvent({ id: 'race', categories: [{ categoryId: 'one', totalTickets: 50 }] }, { replaceTotals: false });
      const outcomes = await Promise.all(
        racers.map((store, i) =>
          codeOf(
            store.lock({ eventId: 'race', categoryId: 'one', userId: `one-${i}`, sessionId: `s-${i}`, hold: { kind: 'quantity', quantity: 1 } }),
          ),
        ),
      );
      expect(outcomes.filter((o) => o === 'granted')).toHaveLength(50);
      expect(outcomes.filter((o) => o === 'INSUFFICIENT_TICKETS')).toHaveLength(CALLERS - 50);
      const { value } = await first!.availability('race', ['one']);
      expect(value[0]).toMatchObject({ totalTickets: 50, availableTickets: 0, lockedTickets: 50, soldTickets: 0, version: 51 });
      expect((await first!.stats()).value).toMatchObject({ activeLocks: 50, usersWithLocks: 50 });
    });

    it(`${CALLERS} concurrent locks of 1..4 for 50 tickets: never beyond capacity`, async () => {
      const [first] = racers;
      await first!.defineEvent({ id: 'race', categories: [{ categoryId: 'mixed', totalTickets: 50 }] }, { replaceTotals: false });
      const quantities = racers.map((_, i) => (i % 4) + 1);
      const outcomes = await Promise.all(
        racers.map((store, i) =>
          codeOf(
            store.lock({
              eventId: 'race',
              categoryId: 'mixed',
              userId: `mixed-${i}`,
              sessionId: `s-${i}`,
              hold: { kind: 'quantity', quantity: quantities[i]! },
            }),
          ),
        ),
      );
      const granted = quantities.filter((_, i) => outcomes[i] === 'granted');
      const sum = granted.reduce((a, b) => a + b, 0);
      expect(granted.length).toBeGreaterThan(0);
      expect(sum).toBeLessThanOrEqual(50);
      const { value } = await first!.availability('race', ['mixed']);
      expect(value[0]).toMatchObject({ availableTickets: 50 - sum, lockedTickets: sum, version: 1 + granted.length });
      // Availability only fell during the race, so every refusal saw at least what is left now.
      quantities.forEach((quantity, i) => {
        if (outcomes[i] === 'granted') return;
        expect(outcomes[i]).toBe('INSUFFICIENT_TICKETS');
        expect(quantity).toBeGreaterThan(50 - sum);
      });
    });
  });

  it('two sweepers on two connections expire each due lock exactly once', async () => {
    const prefix = newPrefix();
    const store = open(prefix, { lockDurationMs: 300 });
    const events = Array.from({ length: 4 }, (_, e) => ({
      id: `sweep-${e}`,
      categories: [{ categoryId: 'c', totalTickets: 100 }],
    }));
    for (const event of events) await store.defineEvent(event, { replaceTotals: false });
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) {
      const reply = await store.lock({
        eventId: `sweep-${i % 4}`,
        categoryId: 'c',
        userId: `u-${i}`,
        sessionId: 's',
        hold: { kind: 'quantity', quantity: 1 },
      });
      ids.push(reply.value.lock.lockId);
    }
    await sleep(350);
    const sweepers = [open(prefix, { lockDurationMs: 300 }), open(prefix, { lockDurationMs: 300 })];
    const handedOut: LockTransition[] = [];
    const counted: number[] = [];
    await Promise.all(
      sweepers.map(async (sweeper) => {
        for (;;) {
          const reply = await sweeper.sweep(7);
          handedOut.push(...reply.transitions);
          counted.push(reply.value.expired);
          if (reply.value.expired === 0) return;
        }
      }),
    );
    expect(handedOut.every((t) => t.event === 'expired' && t.lock.status === 'EXPIRED')).toBe(true);
    expect(handedOut.map((t) => t.lock.lockId).sort()).toEqual([...ids].sort());
    expect(counted.reduce((a, b) => a + b, 0)).toBe(ids.length);
    for (const event of events) {
      expect((await store.availability(event.id)).value[0]).toMatchObject({ lockedTickets: 0, availableTickets: 100 });
    }
  });

  it('stats() equals a recount from the raw lock hashes after a mixed sequence', async () => {
    const prefix = newPrefix();
    const store = open(prefix, { lockDurationMs: 400, maxActiveLocksPerUser: 3 });
    await store.defineEvent(
      { id: 1, categories: [{ categoryId: 'A', totalTickets: 30 }, { categoryId: 'B', totalTickets: 30 }, { categoryId: 'C', totalTickets: 30 }] },
      { replaceTotals: false },
    );
    const lockFor = async (user: number, categoryId: string, quantity = 1) =>
      (
        await store.lock({ eventId: 1, categoryId, userId: `u${user}`, sessionId: `s${user % 3}`, hold: { kind: 'quantity', quantity } })
      ).value.lock;

    const early: LockRecord[] = [];
    for (let u = 0; u < 9; u++) early.push(await lockFor(u, ['A', 'B', 'C'][u % 3]!, (u % 3) + 1));
    await store.confirm(early[0]!.lockId, 'o-0');
    await store.release(early[1]!.lockId, 'cancelled');
    await store.unlock({ userId: 'u2', target: { lockId: early[2]!.lockId }, quantity: 1 });
    await sleep(450); // the rest of the early locks are now due
    await store.sweep(2); // some recorded, some only due
    await store.confirm(early[3]!.lockId); // late confirm
    const late: LockRecord[] = [];
    for (let u = 10; u < 16; u++) late.push(await lockFor(u, ['A', 'B'][u % 2]!));
    await store.unlock({ userId: 'u10', target: { eventId: 1, categoryId: 'A' } });
    await store.releaseSession('s2', 'disconnected');
    await store.confirm(late[2]!.lockId);

    const { now, value } = await store.stats();
    const recount = { active: 0, expired: 0, confirmed: 0, released: 0 };
    const users = new Set<string>();
    const categories = new Set<string>();
    for (const key of await keysOf(prefix, 'lock:*')) {
      const raw = await admin.hgetall(key);
      const status = effectiveStatus({ status: raw.status as LockRecord['status'], expiresAt: Number(raw.expiresAt) }, now);
      recount[status.toLowerCase() as keyof typeof recount]++;
      if (status === 'ACTIVE') {
        users.add(raw.userId!);
        categories.add(`${raw.eid}/${raw.cid}`);
      }
    }
    expect(value).toEqual({
      totalLocks: recount.active + recount.expired + recount.confirmed + recount.released,
      activeLocks: recount.active,
      usersWithLocks: users.size,
      categoriesWithLocks: categories.size,
      locksByStatus: recount,
    });
    expect(value.totalLocks).toBe(15);
    expect(Object.values(recount).every((n) => n > 0)).toBe(true);
  });

  it('every method is one command on the connection', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    await redis.ping();
    // Announcing its changes (origin) costs no command of its own: the scripts PUBLISH.
    const store = new RedisLockStore({ redis, policy: { ...POLICY, lockDurationMs: 300 }, keyPrefix: newPrefix(), origin: 'spy' });
    const spy = vi.spyOn(redis, 'sendCommand');
    const sent = async (call: () => Promise<unknown>): Promise<string[]> => {
      spy.mockClear();
      await call().catch((error: unknown) => {
        if (!(error instanceof LockError)) throw error;
      });
      return spy.mock.calls.map(([command]) => command.name);
    };
    const one = ['evalsha'];
    try {
      // The first call of each script on a connection carries its source (EVAL), later ones its SHA.
      expect(await sent(() => store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 5 }] }, { replaceTotals: false }))).toEqual(['eval']);
      expect(await sent(() => store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 5 }] }, { replaceTotals: true }))).toEqual(one);
      const request = { eventId: 1, categoryId: 'A', userId: 'u1', sessionId: 's1', hold: { kind: 'quantity' as const, quantity: 2 } };
      let lockId = '';
      await store.lock({ ...request, userId: 'warm-up' }); // loads the script
      expect(
        await sent(async () => {
          lockId = (await store.lock(request)).value.lock.lockId;
        }),
      ).toEqual(one);
      const calls: [string, () => Promise<unknown>][] = [
        ['lock (refused)', () => store.lock(request)],
        ['events', () => store.events()],
        ['get', () => store.get(lockId)],
        ['activeLocks', () => store.activeLocks('u1')],
        ['availability', () => store.availability(1)],
        ['stats', () => store.stats()],
        ['extend', () => store.extend(lockId, 'u1')],
        ['unlock', () => store.unlock({ userId: 'u1', target: { lockId }, quantity: 1 })],
        ['confirm', () => store.confirm(lockId, 'o1')],
        ['release', () => store.release(lockId)],
        ['releaseSession', () => store.releaseSession('s1', 'gone')],
        ['setCategoryTotal', () => store.setCategoryTotal(1, 'A', 7)],
        ['sweep', () => store.sweep(100)],
      ];
      for (const [name, call] of calls) {
        await call().catch(() => undefined); // loads the script on this connection
        expect([name, await sent(call)]).toEqual([name, one]);
      }
      expect(await sent(() => store.ping())).toEqual(['ping']);
      expect(await sent(() => store.close())).toEqual([]);
      expect(redis.status).toBe('ready');
    } finally {
      spy.mockRestore();
      await redis.quit();
    }
  });

  it('time comes from Redis: a skewed local clock does not matter', async () => {
    const store = open(newPrefix());
    await store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 5 }] }, { replaceTotals: false });
    const realNow = Date.now.bind(Date);
    const skew = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000);
    try {
      const before = await redisNow();
      const reply = await store.lock({ eventId: 1, categoryId: 'A', userId: 'u1', sessionId: 's1', hold: { kind: 'quantity', quantity: 1 } });
      const after = await redisNow();
      expect(reply.now).toBeGreaterThanOrEqual(before);
      expect(reply.now).toBeLessThanOrEqual(after);
      expect(reply.value.lock.createdAt).toBe(reply.now);
      expect(reply.value.lock.expiresAt).toBe(reply.now + POLICY.lockDurationMs);
      const stats = await store.stats();
      expect(stats.now).toBeLessThanOrEqual(await redisNow());
      expect(stats.value.activeLocks).toBe(1);
    } finally {
      skew.mockRestore();
    }
  });

  it('outbox: every transition is appended in the same script when enabled, nothing when not', async () => {
    const withOutbox = newPrefix();
    const store = open(withOutbox, { lockDurationMs: 300 }, true);
    await store.defineEvent({ id: 7, categories: [{ categoryId: 'A', totalTickets: 5 }] }, { replaceTotals: false });
    const transitions: LockTransition[] = [];
    const lockFor = async (userId: string) => {
      const reply = await store.lock({ eventId: 7, categoryId: 'A', userId, sessionId: 's', hold: { kind: 'quantity', quantity: 1 } });
      transitions.push(...reply.transitions);
      return reply.value.lock;
    };
    const a = await lockFor('u1');
    const b = await lockFor('u2');
    const c = await lockFor('u3');
    transitions.push(...(await store.confirm(a.lockId, 'o')).transitions);
    transitions.push(...(await store.release(b.lockId)).transitions);
    await sleep(c.expiresAt - Date.now() + 50);
    transitions.push(...(await store.sweep(10)).transitions);

    const entries = await admin.xrange(outboxKey(withOutbox), '-', '+');
    // What happened (the transition and the lock), not how a transport names it.
    const appended = entries.map(([, fields]) => ({ fields: [fields[0], fields[2]], event: fields[1], lock: JSON.parse(fields[3]!) as LockRecord }));
    expect(appended).toEqual(transitions.map((t) => ({ fields: ['event', 'lock'], event: t.event, lock: t.lock })));
    expect(appended.map((e) => e.event)).toEqual(['created', 'created', 'created', 'confirmed', 'released', 'expired']);
    expect(appended[0]?.lock.eventId).toBe(7);

    const without = newPrefix();
    const quiet = open(without);
    await quiet.defineEvent({ id: 7, categories: [{ categoryId: 'A', totalTickets: 5 }] }, { replaceTotals: false });
    const lock = (await quiet.lock({ eventId: 7, categoryId: 'A', userId: 'u1', sessionId: 's', hold: { kind: 'quantity', quantity: 1 } })).value.lock;
    await quiet.release(lock.lockId);
    expect(await admin.exists(outboxKey(without))).toBe(0);
  });

  it('every key lives under the prefix hash tag; ids with ":" do not collide', async () => {
    const prefix = newPrefix();
    const store = open(prefix);
    await store.defineEvent({ id: 'a:b', categories: [{ categoryId: 'c', totalTickets: 3 }] }, { replaceTotals: false });
    await store.defineEvent({ id: 'a', categories: [{ categoryId: 'b:c', totalTickets: 5 }] }, { replaceTotals: false });
    const lock = (await store.lock({ eventId: 'a:b', categoryId: 'c', userId: 'u:1', sessionId: 's', hold: { kind: 'quantity', quantity: 3 } }))
      .value.lock;
    expect((await store.availability('a', ['b:c'])).value[0]).toMatchObject({ totalTickets: 5, availableTickets: 5 });
    expect((await store.availability('a:b', ['c'])).value[0]).toMatchObject({ totalTickets: 3, availableTickets: 0 });
    await store.lock({ eventId: 'a', categoryId: 'b:c', userId: 'u:1', sessionId: 's', hold: { kind: 'quantity', quantity: 1 } });
    expect(await admin.exists(lockKey(prefix, lock.lockId))).toBe(1);
    const keys = await admin.keys(`*${keyBase(prefix)}*`);
    expect(keys.length).toBeGreaterThan(0);
    // The first `{…}` of every key is the prefix tag: one Cluster slot.
    expect(keys.every((key) => key.startsWith(`${keyBase(prefix)}:`))).toBe(true);
  });

  it('a refusal that recorded a due lock\'s expiry carries that transition', async () => {
    const store = open(newPrefix(), { lockDurationMs: 200 });
    await store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 5 }] }, { replaceTotals: false });
    const lock = (await store.lock({ eventId: 1, categoryId: 'A', userId: 'u1', sessionId: 's', hold: { kind: 'quantity', quantity: 2 } }))
      .value.lock;
    await sleep(250);
    const error = await store.extend(lock.lockId, 'u1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).code).toBe('LOCK_EXPIRED');
    const changes = refusalChanges(error);
    expect(changes?.transitions.map((t) => `${t.event}:${t.lock.lockId}`)).toEqual([`expired:${lock.lockId}`]);
    expect(changes?.availability).toMatchObject([{ categoryId: 'A', lockedTickets: 0, version: 3 }]);
    // Recorded once: neither the sweep nor a second refusal hands it out again.
    expect((await store.sweep(10)).transitions).toEqual([]);
    expect(refusalChanges(await store.extend(lock.lockId, 'u1').catch((e: unknown) => e))).toBeUndefined();
  });

  it('close() quits only a connection it created', async () => {
    const shared = new Redis(TEST_REDIS_URL);
    const borrowed = new RedisLockStore({ redis: shared, policy: POLICY, keyPrefix: newPrefix() });
    await borrowed.close();
    expect(await shared.ping()).toBe('PONG');
    await shared.quit();
    const owned = new RedisLockStore({ redis: TEST_REDIS_URL, policy: POLICY, keyPrefix: newPrefix() });
    expect(await owned.ping()).toBe(true);
    await owned.close();
    expect(await owned.ping()).toBe(false);
  });
  describe('change announcements and the change feed', () => {
    const stops: (() => Promise<void>)[] = [];
    afterEach(async () => {
      await Promise.all(stops.splice(0).map((stop) => stop()));
    });

    async function listen(prefix: string, origin: string) {
      const heard: LockChanges[] = [];
      let gaps = 0;
      const feed = new RedisLockChangeFeed({ redis: TEST_REDIS_URL, keyPrefix: prefix, origin });
      stops.push(await feed.subscribe({ changes: (changes) => heard.push(changes), gap: () => gaps++ }));
      return { heard, gaps: () => gaps };
    }
    const changesOf = (reply: LockChanges): LockChanges => ({ now: reply.now, transitions: reply.transitions, availability: reply.availability });
    async function until(condition: () => boolean, what: string): Promise<void> {
      for (let waited = 0; !condition(); waited += 10) {
        if (waited > 3000) throw new Error(`timed out waiting for ${what}`);
        await sleep(10);
      }
    }

    it('every change reaches the other instances as its caller got it; not the caller, not reads, not a silent store', async () => {
      const prefix = newPrefix();
      const tag = uniqueName('origin');
      const [a, b, silent] = [open(prefix, { lockDurationMs: 200 }, false, `a-${tag}`), open(prefix, {}, false, `b-${tag}`), open(prefix)];
      const [hearsA, hearsB] = [await listen(prefix, `a-${tag}`), await listen(prefix, `b-${tag}`)];
      const expectedByB: LockChanges[] = [];

      const defined = await a.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 5 }] }, { replaceTotals: false });
      expectedByB.push(changesOf(defined));
      const locked = await a.lock({ eventId: 1, categoryId: 'A', userId: 'u1', sessionId: 's', hold: { kind: 'quantity', quantity: 2 } });
      expectedByB.push(changesOf(locked));
      const { lockId } = locked.value.lock;
      await Promise.all([a.get(lockId), a.availability(1), a.activeLocks('u1'), a.stats(), a.events()]);
      expectedByB.push(changesOf(await a.unlock({ userId: 'u1', target: { lockId }, quantity: 1 })));
      await sleep(250);
      // A refusal that recorded the due lock's expiry is announced too (its owner must hear it).
      const refusal = await a.extend(lockId, 'u1').catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(LockError);
      const recorded = refusalChanges(refusal);
      expect(recorded?.transitions.map((t) => t.event)).toEqual(['expired']);
      if (recorded) expectedByB.push(recorded);
      const byB = await b.lock({ eventId: 1, categoryId: 'A', userId: 'u2', sessionId: 's2', hold: { kind: 'quantity', quantity: 1 } });
      await silent.lock({ eventId: 1, categoryId: 'A', userId: 'u3', sessionId: 's3', hold: { kind: 'quantity', quantity: 1 } });
      expect((await a.sweep(10)).transitions).toEqual([]); // nothing left to record: not announced

      await until(() => hearsB.heard.length >= expectedByB.length && hearsA.heard.length >= 1, 'the announcements');
      await sleep(100); // anything extra would have arrived by now
      expect(hearsB.heard).toEqual(expectedByB);
      expect(hearsA.heard).toEqual([changesOf(byB)]);
      expect(hearsB.heard[1]?.transitions[0]).toMatchObject({ event: 'created', lock: { lockId, quantity: 2, userId: 'u1' } });
      expect(hearsB.heard[1]?.availability).toMatchObject([{ eventId: 1, categoryId: 'A', lockedTickets: 2, availableTickets: 3 }]);
    });

    it('a store announces only while someone but its own feed listens', async () => {
      const prefix = newPrefix();
      const tag = uniqueName('alone');
      const store = open(prefix, {}, false, `a-${tag}`);
      await listen(prefix, `a-${tag}`);
      // Hears what the scripts PUBLISH without being a subscriber they count (PUBSUB NUMSUB leaves
      // pattern subscriptions out): the channel name has no glob characters.
      const spy = new Redis(TEST_REDIS_URL);
      const published: string[] = [];
      spy.on('pmessage', (_pattern: string, _channel: string, message: string) => published.push(message.slice(0, message.indexOf(' '))));
      await spy.psubscribe(changesChannel(prefix));
      const lock = (userId: string) =>
        store.lock({ eventId: 1, categoryId: 'A', userId, sessionId: 's', hold: { kind: 'quantity', quantity: 1 } });
      const announced = async (expected: number, what: string): Promise<void> => {
        await until(() => published.length >= expected, what);
        await sleep(100); // anything extra would have arrived by now
        expect(published).toHaveLength(expected);
      };
      try {
        await store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 50 }] }, { replaceTotals: false });
        await lock('u1');
        await announced(0, 'nothing'); // alone: its own feed only

        // Another instance's feed: announced, and heard as the caller got it.
        const b = new RedisLockChangeFeed({ redis: TEST_REDIS_URL, keyPrefix: prefix, origin: `b-${tag}` });
        const heardByB: LockChanges[] = [];
        const stopB = await b.subscribe({ changes: (changes) => heardByB.push(changes), gap: () => undefined });
        const locked = await lock('u2');
        await announced(1, 'the announcement to b');
        expect(heardByB).toEqual([changesOf(locked)]);
        await stopB(); // unregisters and unsubscribes
        await lock('u3');
        await announced(1, 'nothing more');

        // A subscriber that never registered (an instance of an earlier version) is told too.
        const earlier = new Redis(TEST_REDIS_URL);
        await earlier.subscribe(changesChannel(prefix));
        await lock('u4');
        await announced(2, 'the announcement to an unregistered subscriber');
        await earlier.quit();

        // A registration past its time counts for nothing (a crashed instance's, until it is dropped).
        await admin.zadd(feedsKey(prefix), (await redisNow()) + 300, `ghost-${tag}`);
        await lock('u5');
        await announced(3, 'the announcement to a live registration');
        await sleep(400);
        await lock('u6');
        await announced(3, 'nothing after it lapsed');
        expect(new Set(published)).toEqual(new Set([`a-${tag}`]));
      } finally {
        await spy.quit();
      }
    });

    it('a feed whose connection was cut reports the gap once subscribed again, then goes on', async () => {
      const prefix = newPrefix();
      const origin = uniqueName('cut');
      const store = open(prefix, {}, false, 'other');
      await store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 5 }] }, { replaceTotals: false });
      const feed = await listen(prefix, origin);
      const clients = (await admin.client('LIST')) as string;
      const line = clients.split('\n').find((entry) => entry.includes(` name=lock-change-feed:${origin} `));
      const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      await admin.client('KILL', 'ID', id ?? '');
      await until(() => feed.gaps() === 1, 'the gap');
      const locked = await store.lock({ eventId: 1, categoryId: 'A', userId: 'u1', sessionId: 's', hold: { kind: 'quantity', quantity: 1 } });
      await until(() => feed.heard.length === 1, 'the change after the gap');
      expect(feed.heard).toEqual([changesOf(locked)]);
    });
  });
});
