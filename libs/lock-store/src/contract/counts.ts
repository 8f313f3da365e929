import { describe, expect, it } from 'vitest';
import { type ContractHarness, refused, sleep, sleepUntil } from './harness.js';

/** Version numbers, stats by effective status, and purging after retention. */
export function countsContract({ open, req, nextRequestId, counts, lockOf }: ContractHarness): void {
  describe('version', () => {
    it('rises with every count change, not on extend, reads or refused calls', async () => {
      const store = await open();
      const version = async () => (await counts(store)).version;
      expect(await version()).toBe(1);
      const a = await lockOf(store, req('u1', { quantity: 4 }));
      expect(await version()).toBe(2);
      await store.extend(a.lockId, 'u1');
      await store.get(a.lockId);
      await store.activeLocks('u1');
      await store.stats();
      await refused(store.lock(req('u1')), 'DUPLICATE_LOCK');
      await refused(store.lock(req('u2', { quantity: 7 })), 'INSUFFICIENT_TICKETS');
      await refused(store.unlock({ userId: 'u1', target: { lockId: a.lockId }, quantity: 5 }), 'VALIDATION_FAILED');
      await refused(store.extend(a.lockId, 'u2'), 'NOT_LOCK_OWNER');
      expect(await version()).toBe(2);
      await store.unlock({ userId: 'u1', target: { lockId: a.lockId }, quantity: 1 });
      expect(await version()).toBe(3);
      await store.confirm(a.lockId);
      expect(await version()).toBe(4);
      await store.confirm(a.lockId);
      expect(await version()).toBe(4);
      const b = await lockOf(store, req('u2'));
      await store.release(b.lockId);
      expect(await version()).toBe(6);
      await store.release(b.lockId);
      expect(await version()).toBe(6);
      await store.setCategoryTotal(1, 'A', 12);
      expect(await version()).toBe(7);
      expect(await counts(store, 2)).toMatchObject({ version: 1 });
    });
  });

  describe('stats', () => {
    it('exact counts by effective status after a known sequence', async () => {
      const store = await open({ lockDurationMs: 400 });
      expect((await store.stats()).value).toEqual({
        totalLocks: 0,
        activeLocks: 0,
        usersWithLocks: 0,
        categoriesWithLocks: 0,
        locksByStatus: { active: 0, expired: 0, confirmed: 0, released: 0 },
      });
      const due = await lockOf(store, req('u1', { categoryId: 2 }));
      const confirmed = await lockOf(store, req('u2'));
      await store.confirm(confirmed.lockId);
      const released = await lockOf(store, req('u3'));
      await store.release(released.lockId);
      await sleepUntil(due.expiresAt);
      await lockOf(store, req('u4'));
      await lockOf(store, req('u4', { categoryId: 2 }));
      await lockOf(store, req('u5'));

      const before = await store.stats();
      expect(before.value).toEqual({
        totalLocks: 6,
        activeLocks: 3,
        usersWithLocks: 2,
        categoriesWithLocks: 2,
        locksByStatus: { active: 3, expired: 1, confirmed: 1, released: 1 },
      });
      await store.sweep(100);
      expect((await store.stats()).value).toEqual(before.value);
    });
  });

  describe('retention', () => {
    it('the sweep purges terminal locks after retentionMs, and forgets requestIds', async () => {
      const store = await open({ lockDurationMs: 300, retentionMs: 200 });
      const requestId = nextRequestId();
      const released = (await store.lock(req('u1', { requestId }))).value.lock;
      await store.release(released.lockId);
      const confirmed = await lockOf(store, req('u2', { categoryId: 2 }));
      await store.confirm(confirmed.lockId);
      const expired = await lockOf(store, req('u3'));

      // Not yet: everything is still retained.
      const early = await store.sweep(100);
      expect(early.value.purged).toBe(0);
      expect((await store.stats()).value.totalLocks).toBe(3);

      await sleepUntil(expired.expiresAt);
      await store.sweep(100);
      await sleep(250);
      await store.sweep(100);
      for (const lock of [released, confirmed, expired]) expect((await store.get(lock.lockId)).value).toBeNull();
      expect((await store.stats()).value).toEqual({
        totalLocks: 0,
        activeLocks: 0,
        usersWithLocks: 0,
        categoriesWithLocks: 0,
        locksByStatus: { active: 0, expired: 0, confirmed: 0, released: 0 },
      });
      expect(await counts(store, 2)).toMatchObject({ soldTickets: 1, lockedTickets: 0 });
      await refused(store.confirm(expired.lockId), 'LOCK_NOT_FOUND');

      const fresh = await store.lock(req('u1', { requestId }));
      expect(fresh.value.replayed).toBe(false);
      expect(fresh.value.lock.lockId).not.toBe(released.lockId);
    });

    it('a released lock is purged retentionMs after its release', async () => {
      const store = await open({ retentionMs: 200 });
      const lock = await lockOf(store, req('u1'));
      await store.release(lock.lockId);
      expect((await store.sweep(100)).value.purged).toBe(0);
      await sleep(250);
      expect((await store.sweep(100)).value.purged).toBe(1);
      expect((await store.get(lock.lockId)).value).toBeNull();
      expect((await store.stats()).value.totalLocks).toBe(0);
    });
  });
}
