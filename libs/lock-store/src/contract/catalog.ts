import { describe, expect, it } from 'vitest';
import { LockError } from '#lock-domain';
import { type ContractHarness, EVENT, refused } from './harness.js';

/** Defining events and totals; concurrent callers. */
export function catalogContract({ open, req, counts, lockOf }: ContractHarness): void {
  describe('catalog', () => {
    it('defineEvent keeps known totals unless replaceTotals, adds new categories, answers the event\'s availability', async () => {
      const store = await open();
      await lockOf(store, req('u1', { quantity: 3 }));

      const kept = await store.defineEvent(
        { id: '1', categories: [{ categoryId: 'A', totalTickets: 50 }, { categoryId: 'C', name: 'Box', totalTickets: 2 }] },
        { replaceTotals: false },
      );
      expect(kept.value.map((c) => [c.eventId, c.categoryId, c.totalTickets, c.availableTickets])).toEqual([
        [1, 'A', 10, 7],
        [1, 2, 5, 5],
        [1, 'C', 2, 2],
      ]);
      expect(await counts(store)).toMatchObject({ totalTickets: 10, version: 2 });
      expect(await counts(store, 'C')).toMatchObject({ totalTickets: 2, version: 1 });

      const replaced = await store.defineEvent(
        { id: 1, categories: [{ categoryId: 'A', totalTickets: 20 }] },
        { replaceTotals: true },
      );
      expect(replaced.value.find((c) => c.categoryId === 'A')).toMatchObject({ totalTickets: 20, availableTickets: 17, lockedTickets: 3, version: 3 });
      expect(replaced.availability).toMatchObject([{ categoryId: 'A', totalTickets: 20, version: 3 }]);
      expect(await counts(store)).toMatchObject({ totalTickets: 20, availableTickets: 17, version: 3 });
      // Categories left out of a redefinition are kept.
      expect(await counts(store, 2)).toMatchObject({ totalTickets: 5 });
    });

    it('setCategoryTotal changes capacity (availability follows, version rises) and defines new categories', async () => {
      const store = await open();
      await lockOf(store, req('u1', { quantity: 10 }));
      await refused(store.lock(req('u2')), 'INSUFFICIENT_TICKETS');
      const raised = await store.setCategoryTotal('1', 'A', 12);
      expect(raised.value).toMatchObject({ eventId: 1, categoryId: 'A', totalTickets: 12, availableTickets: 2, lockedTickets: 10, version: 3 });
      expect(raised.availability).toMatchObject([{ categoryId: 'A', totalTickets: 12, version: 3 }]);
      await lockOf(store, req('u2', { quantity: 2 }));

      // Shrinking below what is held: available never goes negative.
      const shrunk = await store.setCategoryTotal(1, 'A', 5);
      expect(shrunk.value).toMatchObject({ totalTickets: 5, availableTickets: 0, lockedTickets: 12 });

      const created = await store.setCategoryTotal(1, 'D', 3);
      expect(created.value).toMatchObject({ eventId: 1, categoryId: 'D', totalTickets: 3, availableTickets: 3, version: 1 });
      await lockOf(store, req('u3', { categoryId: 'D' }));
    });

    it('confirm never makes sold exceed total: after the category shrank, INSUFFICIENT_TICKETS and nothing changes', async () => {
      const store = await open();
      const a = await lockOf(store, req('u1', { quantity: 3 }));
      const b = await lockOf(store, req('u2', { quantity: 2 }));
      await store.setCategoryTotal(1, 'A', 2);
      const error = await refused(store.confirm(a.lockId, 'order-a'), 'INSUFFICIENT_TICKETS');
      expect(error.status).toBe('ACTIVE');
      expect((await store.get(a.lockId)).value?.status).toBe('ACTIVE');
      await store.confirm(b.lockId, 'order-b');
      expect(await counts(store)).toMatchObject({ totalTickets: 2, soldTickets: 2, lockedTickets: 3, availableTickets: 0 });
      await refused(store.confirm(a.lockId), 'INSUFFICIENT_TICKETS');
    });

    it('events() lists the defined events and categories in definition order', async () => {
      const store = await open({}, [EVENT, { id: 'e2', categories: [{ categoryId: 'x', totalTickets: 1 }] }]);
      await store.setCategoryTotal(1, 'C', 4);
      await store.setCategoryTotal(1, 'A', 11);
      const { value } = await store.events();
      expect(value).toEqual([
        {
          id: 1,
          name: 'Concert',
          categories: [
            { categoryId: 'A', name: 'Floor', totalTickets: 11 },
            { categoryId: 2, name: 'Balcony', totalTickets: 5 },
            { categoryId: 'C', totalTickets: 4 },
          ],
        },
        { id: 'e2', categories: [{ categoryId: 'x', totalTickets: 1 }] },
      ]);
    });
  });

  describe('concurrency', () => {
    it('200 concurrent locks by distinct users for 50 tickets: exactly 50 granted', async () => {
      const store = await open({}, [{ id: 'flash', categories: [{ categoryId: 'GA', totalTickets: 50 }] }]);
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          store.lock(req(`buyer-${i}`, { eventId: 'flash', categoryId: 'GA' })).then(
            () => 'granted',
            (error: unknown) => (error instanceof LockError ? error.code : 'unexpected'),
          ),
        ),
      );
      expect(outcomes.filter((o) => o === 'granted')).toHaveLength(50);
      expect(outcomes.filter((o) => o === 'INSUFFICIENT_TICKETS')).toHaveLength(150);
      expect(await counts(store, 'GA', 'flash')).toMatchObject({ lockedTickets: 50, availableTickets: 0, version: 51 });
      expect((await store.stats()).value).toMatchObject({ activeLocks: 50, usersWithLocks: 50, categoriesWithLocks: 1 });
    });

    it('concurrent locks by one user in one category: exactly one granted', async () => {
      const store = await open();
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => store.lock(req('u1'))));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as LockError).code).toBe('DUPLICATE_LOCK');
      expect(await counts(store)).toMatchObject({ lockedTickets: 1 });
    });
  });
}
