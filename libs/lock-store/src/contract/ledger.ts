import { describe, expect, it } from 'vitest';
import type { EventInfo } from '#lock-domain';
import { type ContractHarness, EVENT, refused } from './harness.js';

/** Event 7: category `L` (10 tickets) from a sales ledger that shows 3 sold; category `M` (5) counted here. */
const LEDGER_EVENT: EventInfo = {
  id: 7,
  categories: [
    { categoryId: 'L', totalTickets: 10, soldTickets: 3 },
    { categoryId: 'M', totalTickets: 5 },
  ],
};

/**
 * Following a sales ledger (CONTRACT §9: the original events-service's `reservedSeats`): sold is the
 * ledger's figure plus our confirms it does not show yet, each confirm counted once.
 */
export function ledgerContract({ open, req, counts, lockOf }: ContractHarness): void {
  describe('sales ledger', () => {
    const at = (userId: string, quantity: number, categoryId = 'L') => req(userId, { eventId: 7, categoryId, quantity });

    it('a category defined with a ledger figure starts with that many sold; a known one keeps its counts', async () => {
      const store = await open({}, [EVENT, LEDGER_EVENT]);
      expect(await counts(store, 'L', 7)).toMatchObject({ totalTickets: 10, soldTickets: 3, availableTickets: 7, version: 1 });
      expect(await counts(store, 'M', 7)).toMatchObject({ soldTickets: 0, availableTickets: 5 });
      await store.defineEvent({ id: 7, categories: [{ categoryId: 'L', totalTickets: 10, soldTickets: 9 }] }, { replaceTotals: false });
      expect(await counts(store, 'L', 7)).toMatchObject({ soldTickets: 3, version: 1 });
    });

    it('our confirm counts once: pending until its order completes, then the ledger shows it', async () => {
      const store = await open({}, [LEDGER_EVENT]);
      const lock = await lockOf(store, at('u1', 2));
      await store.confirm(lock.lockId);
      expect(await counts(store, 'L', 7)).toMatchObject({ soldTickets: 5, availableTickets: 5 });

      // A re-read before the order reached the ledger keeps the confirm (pending).
      const before = await store.followLedger(7, 'L', { totalTickets: 10, soldTickets: 3 });
      expect(before.value).toMatchObject({ soldTickets: 5, availableTickets: 5 });
      // The order completed: the ledger shows it and it settles our confirm (not counted twice).
      const settle = { orderKey: 'o-1', userId: 'u1', quantity: 2 };
      const after = await store.followLedger(7, 'L', { totalTickets: 10, soldTickets: 5 }, settle);
      expect(after.value).toMatchObject({ soldTickets: 5, availableTickets: 5 });
      // Redelivered: nothing settled twice.
      expect((await store.followLedger(7, 'L', { totalTickets: 10, soldTickets: 5 }, settle)).value).toMatchObject({ soldTickets: 5 });

      // A sale made elsewhere (no lock here) and a cancellation: sold follows the ledger.
      const elsewhere = await store.followLedger(7, 'L', { totalTickets: 10, soldTickets: 8 }, { orderKey: 'o-2', userId: 'u9', quantity: 3 });
      expect(elsewhere.value).toMatchObject({ soldTickets: 8, availableTickets: 2 });
      const cancelled = await store.followLedger(7, 'L', { totalTickets: 10, soldTickets: 6 });
      expect(cancelled.value).toMatchObject({ soldTickets: 6, availableTickets: 4 });
    });

    it('settles the user\'s confirm of the order\'s quantity, other users\' confirms stay pending', async () => {
      const store = await open({}, [LEDGER_EVENT]);
      const small = await lockOf(store, at('u1', 1));
      await store.confirm(small.lockId);
      const other = await lockOf(store, at('u2', 2));
      await store.confirm(other.lockId);
      const big = await lockOf(store, at('u1', 3));
      await store.confirm(big.lockId);
      expect(await counts(store, 'L', 7)).toMatchObject({ soldTickets: 9 });
      // u1's 3-ticket order reached the ledger (3 + 3): u1's 1 and u2's 2 are still pending.
      const reply = await store.followLedger(7, 'L', { totalTickets: 10, soldTickets: 6 }, { orderKey: 'o-3', userId: 'u1', quantity: 3 });
      expect(reply.value).toMatchObject({ soldTickets: 9, availableTickets: 1 });
    });

    it('never oversells: the ledger\'s sales take what was free, available stays at 0, no lock beyond it', async () => {
      const store = await open({}, [LEDGER_EVENT]);
      await lockOf(store, at('u1', 4));
      const reply = await store.followLedger(7, 'L', { totalTickets: 10, soldTickets: 9 });
      expect(reply.value).toMatchObject({ totalTickets: 10, soldTickets: 9, lockedTickets: 4, availableTickets: 0 });
      await refused(store.lock(at('u2', 1)), 'INSUFFICIENT_TICKETS');
      // Total and sold change together, in one step.
      const resized = await store.followLedger(7, 'L', { totalTickets: 20, soldTickets: 9 });
      expect(resized.value).toMatchObject({ totalTickets: 20, soldTickets: 9, availableTickets: 7 });
    });

    it('a category counted here starts following at its first reading; every reading raises the version (it is pushed)', async () => {
      const store = await open({}, [LEDGER_EVENT]);
      const lock = await lockOf(store, at('u1', 2, 'M'));
      await store.confirm(lock.lockId);
      const { version } = await counts(store, 'M', 7);
      // The first reading is the truth: it already includes what was sold before.
      const first = await store.followLedger(7, 'M', { totalTickets: 5, soldTickets: 2 });
      expect(first.value).toMatchObject({ soldTickets: 2, availableTickets: 3, version: version + 1 });
      expect(first.availability).toMatchObject([{ categoryId: 'M', soldTickets: 2, version: version + 1 }]);
      const changed = await store.followLedger(7, 'M', { totalTickets: 5, soldTickets: 4 });
      expect(changed.value).toMatchObject({ soldTickets: 4, version: version + 2 });
    });

    it('refuses unknown events and categories', async () => {
      const store = await open({}, [LEDGER_EVENT]);
      await refused(store.followLedger(8, 'L', { totalTickets: 1, soldTickets: 0 }), 'EVENT_NOT_FOUND');
      await refused(store.followLedger(7, 'Z', { totalTickets: 1, soldTickets: 0 }), 'CATEGORY_NOT_FOUND');
    });
  });
}
