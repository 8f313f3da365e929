import { describe, expect, it } from 'vitest';
import { type ContractHarness, refused, sleep, sleepUntil } from './harness.js';

/** Partial and whole unlock (by id or by category); extend and its lifetime cap. */
export function unlockExtendContract({ open, req, counts, lockOf, events }: ContractHarness): void {
  describe('unlock', () => {
    it('partial unlock keeps the lock ACTIVE with fewer tickets; counts follow; no transition', async () => {
      const store = await open();
      const lock = await lockOf(store, req('u1', { quantity: 5 }));
      const partial = await store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, quantity: 2 });
      expect(partial.value).toMatchObject({ releasedQuantity: 2, remainingQuantity: 3 });
      expect(partial.value.lock).toMatchObject({ lockId: lock.lockId, status: 'ACTIVE', quantity: 3, expiresAt: lock.expiresAt });
      expect(partial.transitions).toEqual([]);
      expect(partial.availability).toMatchObject([{ lockedTickets: 3, availableTickets: 7, version: 3 }]);
      expect((await store.get(lock.lockId)).value).toMatchObject({ status: 'ACTIVE', quantity: 3 });

      await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, quantity: 4 }), 'VALIDATION_FAILED');
      await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, quantity: 0 }), 'VALIDATION_FAILED');
      await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, quantity: 1.5 }), 'VALIDATION_FAILED');
      expect(await counts(store)).toMatchObject({ lockedTickets: 3, version: 3 });

      const rest = await store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, quantity: 3 });
      expect(rest.value).toMatchObject({ releasedQuantity: 3, remainingQuantity: 0 });
      expect(rest.value.lock.status).toBe('RELEASED');
      expect(events(rest)).toEqual([`released:${lock.lockId}`]);
      expect(rest.availability).toMatchObject([{ lockedTickets: 0, availableTickets: 10, version: 4 }]);
    });

    it('unlock by event/category targets the user\'s ACTIVE lock there', async () => {
      const store = await open();
      await lockOf(store, req('u2', { quantity: 2 }));
      const mine = await lockOf(store, req('u1', { quantity: 4 }));
      const partial = await store.unlock({ userId: 'u1', target: { eventId: '1', categoryId: 'A' }, quantity: 1 });
      expect(partial.value).toMatchObject({ releasedQuantity: 1, remainingQuantity: 3 });
      expect(partial.value.lock.lockId).toBe(mine.lockId);
      const all = await store.unlock({ userId: 'u1', target: { eventId: 1, categoryId: 'A' } });
      expect(all.value).toMatchObject({ releasedQuantity: 3, remainingQuantity: 0 });
      expect(all.value.lock).toMatchObject({ lockId: mine.lockId, status: 'RELEASED', reason: 'user-unlock' });
      await refused(store.unlock({ userId: 'u1', target: { eventId: 1, categoryId: 'A' } }), 'LOCK_NOT_FOUND');
      expect(await counts(store)).toMatchObject({ lockedTickets: 2 });
    });
  });

  describe('extend', () => {
    it('pushes expiresAt to now + lockDurationMs, capped at createdAt + maxLifetimeMs, counts unchanged', async () => {
      const store = await open({ lockDurationMs: 1000, maxLifetimeMs: 1500 });
      const lock = await lockOf(store, req('u1', { quantity: 2 }));
      await sleep(100);
      const first = await store.extend(lock.lockId, 'u1');
      expect(first.value.expiresAt).toBe(first.now + 1000);
      expect(first.value.expiresAt).toBeGreaterThan(lock.expiresAt);
      expect(first.value).toMatchObject({ status: 'ACTIVE', createdAt: lock.createdAt, quantity: 2 });
      expect(first.transitions).toEqual([]);
      expect(first.availability).toEqual([]);

      await sleep(600);
      const capped = await store.extend(lock.lockId, 'u1');
      expect(capped.value.expiresAt).toBe(lock.createdAt + 1500);
      const again = await store.extend(lock.lockId, 'u1');
      expect(again.value.expiresAt).toBe(lock.createdAt + 1500);
      expect((await store.get(lock.lockId)).value?.expiresAt).toBe(lock.createdAt + 1500);
      expect((await store.activeLocks('u1')).value[0]?.expiresAt).toBe(lock.createdAt + 1500);
      expect(await counts(store)).toMatchObject({ lockedTickets: 2, version: 2 });

      await sleepUntil(lock.createdAt + 1500);
      await refused(store.extend(lock.lockId, 'u1'), 'LOCK_EXPIRED');
      expect(await counts(store)).toMatchObject({ lockedTickets: 0, availableTickets: 10 });
    });
  });
}
