import { describe, expect, it } from 'vitest';
import { LockError, effectiveStatus, type LockPolicy, type LockRecord } from '#lock-domain';
import { lockStoreContract } from '../contract/index.js';
import { InProcessLockStore } from './in-process-lock-store.js';

lockStoreContract('InProcessLockStore', async (policy) => new InProcessLockStore(policy));

const POLICY: LockPolicy = {
  lockDurationMs: 1000,
  maxLifetimeMs: 3000,
  maxActiveLocksPerUser: 3,
  maxTicketsPerLock: 4,
  retentionMs: 5000,
};

/** A store on a hand-driven clock: what real time cannot pin down, to the millisecond. */
async function manual(policy: Partial<LockPolicy> = {}) {
  const clock = { now: 1_000_000 };
  const store = new InProcessLockStore({ ...POLICY, ...policy }, () => clock.now);
  await store.defineEvent({ id: 1, categories: [{ categoryId: 'A', totalTickets: 10 }, { categoryId: 'B', totalTickets: 6 }] }, { replaceTotals: false });
  return { store, clock };
}

const request = (userId: string, categoryId = 'A', quantity = 1) => ({
  eventId: 1,
  categoryId,
  userId,
  sessionId: `s-${userId}`,
  hold: { kind: 'quantity' as const, quantity },
});

describe('InProcessLockStore on a manual clock', () => {
  it('a lock counts until expiresAt - 1 and not at expiresAt', async () => {
    const { store, clock } = await manual();
    const { lock } = (await store.lock(request('u1', 'A', 4))).value;
    clock.now = lock.expiresAt - 1;
    expect((await store.availability(1, ['A'])).value[0]?.lockedTickets).toBe(4);
    expect((await store.activeLocks('u1')).value).toHaveLength(1);
    expect((await store.extend(lock.lockId, 'u1')).value.expiresAt).toBe(lock.expiresAt - 1 + 1000);
    clock.now = lock.expiresAt - 1 + 1000;
    expect((await store.availability(1, ['A'])).value[0]?.lockedTickets).toBe(0);
    expect((await store.stats()).value.locksByStatus).toEqual({ active: 0, expired: 1, confirmed: 0, released: 0 });
    expect((await store.sweep(10)).value.expired).toBe(1);
  });

  it('extend never moves expiresAt backwards', async () => {
    const { store, clock } = await manual({ lockDurationMs: 1000, maxLifetimeMs: 500 });
    const { lock } = (await store.lock(request('u1'))).value;
    clock.now += 100;
    expect((await store.extend(lock.lockId, 'u1')).value.expiresAt).toBe(lock.expiresAt);
  });

  it('a terminal lock is purged exactly retentionMs after it became terminal', async () => {
    const { store, clock } = await manual();
    const released = (await store.lock(request('u1'))).value.lock;
    clock.now += 10;
    await store.release(released.lockId);
    const expired = (await store.lock(request('u2'))).value.lock;
    clock.now = expired.expiresAt + 100;
    await store.sweep(10);
    clock.now = released.createdAt + 10 + 5000 - 1;
    expect((await store.sweep(10)).value.purged).toBe(0);
    clock.now += 1;
    expect((await store.sweep(10)).value.purged).toBe(1);
    // An expired lock became terminal at its expiresAt, not when the sweep recorded it.
    clock.now = expired.expiresAt + 5000;
    expect((await store.sweep(10)).value.purged).toBe(1);
    expect((await store.stats()).value.totalLocks).toBe(0);
  });

  it('ping answers until closed', async () => {
    const { store } = await manual();
    expect(await store.ping()).toBe(true);
    await store.close();
    expect(await store.ping()).toBe(false);
  });

  it('keeps its indexes in step with the records through a random workload', async () => {
    const { store, clock } = await manual();
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const ids: string[] = [];
    for (let step = 0; step < 3000; step++) {
      clock.now += random(120);
      const user = users[random(users.length)] ?? 'u1';
      const lockId = ids[random(ids.length || 1)] ?? 'none';
      const category = random(2) === 0 ? 'A' : 'B';
      const calls = [
        async () => ids.push((await store.lock({ ...request(user, category, 1 + random(4)), sessionId: `s${random(3)}` })).value.lock.lockId),
        () => store.unlock({ userId: user, target: { lockId }, quantity: 1 + random(3) }),
        () => store.unlock({ userId: user, target: { eventId: 1, categoryId: category } }),
        () => store.extend(lockId, user),
        () => store.confirm(lockId),
        () => store.release(lockId),
        () => store.releaseSession(`s${random(3)}`, 'disconnected'),
        () => store.sweep(1 + random(3)),
        () => store.setCategoryTotal(1, category, 4 + random(10)),
      ];
      await (calls[random(calls.length)] ?? calls[0])?.().catch((error: unknown) => {
        if (!(error instanceof LockError)) throw error;
      });
      if (step % 10 === 0) await check();
    }
    await check();

    async function check() {
      const records: LockRecord[] = [];
      for (const id of ids) {
        const { value } = await store.get(id);
        if (value) records.push(value);
      }
      const { now } = await store.get('none');
      const live = records.filter((r) => effectiveStatus(r, now) === 'ACTIVE');
      for (const categoryId of ['A', 'B']) {
        const { value } = await store.availability(1, [categoryId]);
        const held = live.filter((r) => r.categoryId === categoryId).reduce((n, r) => n + r.quantity, 0);
        expect(value[0]?.lockedTickets).toBe(held);
      }
      for (const user of users) {
        const mine = live.filter((r) => r.userId === user).sort((a, b) => a.createdAt - b.createdAt);
        expect((await store.activeLocks(user)).value.map((r) => r.lockId)).toEqual(mine.map((r) => r.lockId));
        expect(mine.length).toBeLessThanOrEqual(POLICY.maxActiveLocksPerUser);
      }
      const count = (status: string) => records.filter((r) => effectiveStatus(r, now) === status).length;
      expect((await store.stats()).value).toEqual({
        totalLocks: records.length,
        activeLocks: live.length,
        usersWithLocks: new Set(live.map((r) => r.userId)).size,
        categoriesWithLocks: new Set(live.map((r) => r.categoryId)).size,
        locksByStatus: { active: live.length, expired: count('EXPIRED'), confirmed: count('CONFIRMED'), released: count('RELEASED') },
      });
    }
  });
});
