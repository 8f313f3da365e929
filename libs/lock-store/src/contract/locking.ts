import { describe, expect, it } from 'vitest';
import { type ContractHarness, EVENT, refused, sleep } from './harness.js';

/** Reads, the refusals of lock, and the two forms of catalog ids. */
export function lockingContract({ open, req, counts, lockOf, statusOf }: ContractHarness): void {
  describe('reads', () => {
    it('activeLocks lists the user\'s ACTIVE locks, oldest first, from every session', async () => {
      const store = await open({}, [EVENT, { id: 'e2', categories: [{ categoryId: 'x', totalTickets: 3 }] }]);
      const a = await lockOf(store, req('u1', { categoryId: 2, sessionId: 's1' }));
      await sleep(2);
      const b = await lockOf(store, req('u1', { eventId: 'e2', categoryId: 'x', sessionId: 's2' }));
      await sleep(2);
      const c = await lockOf(store, req('u1', { sessionId: 's1' }));
      await lockOf(store, req('u2'));
      await store.release(b.lockId);
      expect((await store.activeLocks('u1')).value.map((l) => l.lockId)).toEqual([a.lockId, c.lockId]);
      expect((await store.activeLocks('nobody')).value).toEqual([]);
      const all = await store.availability(1);
      expect(all.transitions).toEqual([]);
      expect(all.availability).toEqual([]);
    });
  });

  describe('lock refusals', () => {
    it('DUPLICATE_LOCK for a second ACTIVE lock of the user in the category (whatever the id form)', async () => {
      const store = await open();
      const first = await lockOf(store, req('u1', { quantity: 2 }));
      await refused(store.lock(req('u1')), 'DUPLICATE_LOCK');
      await refused(store.lock(req('u1', { eventId: '1' })), 'DUPLICATE_LOCK');
      const other = await lockOf(store, req('u1', { categoryId: 2 }));
      expect(other.categoryId).toBe(2);
      await refused(store.lock(req('u1', { categoryId: '2' })), 'DUPLICATE_LOCK');
      expect(await counts(store)).toMatchObject({ lockedTickets: 2, version: 2 });
      await store.release(first.lockId);
      await lockOf(store, req('u1'));
    });

    it('INSUFFICIENT_TICKETS changes nothing', async () => {
      const store = await open();
      await lockOf(store, req('u1', { quantity: 8 }));
      const before = await counts(store);
      await refused(store.lock(req('u2', { quantity: 3 })), 'INSUFFICIENT_TICKETS');
      const after = await counts(store);
      expect(after).toEqual({ ...before, timestamp: after.timestamp });
      expect((await store.activeLocks('u2')).value).toEqual([]);
      expect((await store.stats()).value.totalLocks).toBe(1);
      await lockOf(store, req('u2', { quantity: 2 }));
      expect(await counts(store)).toMatchObject({ availableTickets: 0, lockedTickets: 10 });
    });

    it('TOO_MANY_LOCKS at maxActiveLocksPerUser ACTIVE locks', async () => {
      const store = await open({ maxActiveLocksPerUser: 2 });
      const a = await lockOf(store, req('u1'));
      await lockOf(store, req('u1', { categoryId: 2 }));
      await store.defineEvent({ id: 'e3', categories: [{ categoryId: 'x', totalTickets: 3 }] }, { replaceTotals: false });
      await refused(store.lock(req('u1', { eventId: 'e3', categoryId: 'x' })), 'TOO_MANY_LOCKS');
      expect(await counts(store, 'x', 'e3')).toMatchObject({ lockedTickets: 0, version: 1 });
      await lockOf(store, req('u2', { eventId: 'e3', categoryId: 'x' }));
      await store.unlock({ userId: 'u1', target: { lockId: a.lockId } });
      await lockOf(store, req('u1', { eventId: 'e3', categoryId: 'x' }));
    });

    it.each([0, 11, 1.5, -1, Number.NaN])('VALIDATION_FAILED for quantity %s', async (quantity) => {
      const store = await open();
      await refused(store.lock(req('u1', { quantity })), 'VALIDATION_FAILED');
      // Validation comes first, before the catalog is consulted.
      await refused(store.lock(req('u1', { quantity, eventId: 'nope' })), 'VALIDATION_FAILED');
      expect(await counts(store)).toMatchObject({ lockedTickets: 0, version: 1 });
    });

    it('VALIDATION_FAILED for bad ids, totals and sweep limits', async () => {
      const store = await open();
      await refused(store.lock(req('')), 'VALIDATION_FAILED');
      await refused(store.lock(req('u1', { sessionId: '' })), 'VALIDATION_FAILED');
      await refused(store.defineEvent({ id: 'bad id!', categories: [] }, { replaceTotals: false }), 'VALIDATION_FAILED');
      await refused(store.defineEvent({ id: 5, categories: [{ categoryId: 'x', totalTickets: -1 }] }, { replaceTotals: false }), 'VALIDATION_FAILED');
      await refused(store.setCategoryTotal(1, 'A', 2.5), 'VALIDATION_FAILED');
      await refused(store.setCategoryTotal(1, 'a'.repeat(65), 3), 'VALIDATION_FAILED');
      await refused(store.sweep(-1), 'VALIDATION_FAILED');
      await refused(store.availability(5), 'EVENT_NOT_FOUND');
      expect(await counts(store)).toMatchObject({ totalTickets: 10, version: 1 });
    });

    it('accepts quantity maxTicketsPerLock', async () => {
      const store = await open();
      expect((await lockOf(store, req('u1', { quantity: 10 }))).quantity).toBe(10);
    });

    it('EVENT_NOT_FOUND and CATEGORY_NOT_FOUND', async () => {
      const store = await open();
      await refused(store.lock(req('u1', { eventId: 99 })), 'EVENT_NOT_FOUND');
      await refused(store.lock(req('u1', { categoryId: 'Z' })), 'CATEGORY_NOT_FOUND');
      await refused(store.availability(99), 'EVENT_NOT_FOUND');
      await refused(store.availability(1, ['Z']), 'CATEGORY_NOT_FOUND');
      expect((await store.stats()).value.totalLocks).toBe(0);
    });

    it('LOCK_NOT_FOUND and NOT_LOCK_OWNER', async () => {
      const store = await open();
      const unknown = '00000000-0000-4000-8000-000000000000';
      await refused(store.unlock({ userId: 'u1', target: { lockId: unknown } }), 'LOCK_NOT_FOUND');
      await refused(store.unlock({ userId: 'u1', target: { eventId: 1, categoryId: 'A' } }), 'LOCK_NOT_FOUND');
      await refused(store.extend(unknown, 'u1'), 'LOCK_NOT_FOUND');
      await refused(store.confirm(unknown), 'LOCK_NOT_FOUND');
      await refused(store.release(unknown), 'LOCK_NOT_FOUND');
      expect((await store.get(unknown)).value).toBeNull();

      const lock = await lockOf(store, req('u1', { quantity: 2 }));
      await refused(store.unlock({ userId: 'u2', target: { lockId: lock.lockId } }), 'NOT_LOCK_OWNER');
      await refused(store.extend(lock.lockId, 'u2'), 'NOT_LOCK_OWNER');
      await refused(store.release(lock.lockId, 'x', 'u2'), 'NOT_LOCK_OWNER');
      // By category, only the caller's own lock is a target.
      await refused(store.unlock({ userId: 'u2', target: { eventId: 1, categoryId: 'A' } }), 'LOCK_NOT_FOUND');
      expect(await statusOf(store, lock.lockId)).toBe('ACTIVE');
      expect(await counts(store)).toMatchObject({ lockedTickets: 2, version: 2 });
    });
  });

  describe('ids', () => {
    it('1 and "1" name the same event/category; records and availability keep the catalog form', async () => {
      const store = await open({}, [
        EVENT,
        { id: '42', categories: [{ categoryId: '7', totalTickets: 3 }] },
      ]);
      const a = await lockOf(store, req('u1', { eventId: '1', categoryId: '2' }));
      expect(a).toMatchObject({ eventId: 1, categoryId: 2 });
      const b = await lockOf(store, req('u1', { eventId: 42, categoryId: 7 }));
      expect(b).toMatchObject({ eventId: '42', categoryId: '7' });

      const byString = (await store.availability('1')).value;
      expect(byString.map((c) => [c.eventId, c.categoryId])).toEqual([
        [1, 'A'],
        [1, 2],
      ]);
      expect(await counts(store, '2', '1')).toMatchObject({ eventId: 1, categoryId: 2, lockedTickets: 1 });
      expect(await counts(store, 7, 42)).toMatchObject({ eventId: '42', categoryId: '7', lockedTickets: 1 });
      await refused(store.lock(req('u2', { eventId: '42', categoryId: 7, quantity: 3 })), 'INSUFFICIENT_TICKETS');
      const unlock = await store.unlock({ userId: 'u1', target: { eventId: 42, categoryId: '7' } });
      expect(unlock.value.lock.lockId).toBe(b.lockId);
      expect(unlock.availability).toMatchObject([{ eventId: '42', categoryId: '7', availableTickets: 3 }]);
    });
  });
}
