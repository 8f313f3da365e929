import { describe, expect, it } from 'vitest';
import { effectiveStatus } from '#lock-domain';
import { type ContractHarness, refused, sleep, sleepUntil } from './harness.js';

/** Exact expiry, the sweep, and confirming a lock past its expiresAt. */
export function expiryContract({ open, req, counts, lockOf, statusOf, events }: ContractHarness): void {
  describe('expiry', () => {
    it('exact expiry: at expiresAt the lock stops counting and reads EXPIRED before any sweep; the sweep records it once', async () => {
      const store = await open({ lockDurationMs: 3000 });
      const lock = await lockOf(store, req('u1', { quantity: 4 }));
      await sleep(1000);
      // A lock that outlives the polling below, so the counts have something to stay ACTIVE.
      await lockOf(store, req('u2', { quantity: 1, categoryId: 2 }));
      await sleepUntil(lock.expiresAt - 150, 0);

      // Poll across the boundary: every answer must agree with its own `now`, to the millisecond.
      const past = (now: number) => now >= lock.expiresAt;
      let before = 0;
      let after = 0;
      while (after < 5) {
        const [avail, got, mine, stats] = await Promise.all([
          store.availability(1, ['A']),
          store.get(lock.lockId),
          store.activeLocks('u1'),
          store.stats(),
        ]);
        expect(avail.value[0]).toMatchObject(
          past(avail.now) ? { lockedTickets: 0, availableTickets: 10 } : { lockedTickets: 4, availableTickets: 6 },
        );
        expect(got.value && effectiveStatus(got.value, got.now)).toBe(past(got.now) ? 'EXPIRED' : 'ACTIVE');
        expect(mine.value.map((l) => l.lockId)).toEqual(past(mine.now) ? [] : [lock.lockId]);
        expect(stats.value).toEqual(
          past(stats.now)
            ? { totalLocks: 2, activeLocks: 1, usersWithLocks: 1, categoriesWithLocks: 1, locksByStatus: { active: 1, expired: 1, confirmed: 0, released: 0 } }
            : { totalLocks: 2, activeLocks: 2, usersWithLocks: 2, categoriesWithLocks: 2, locksByStatus: { active: 2, expired: 0, confirmed: 0, released: 0 } },
        );
        if (past(avail.now)) after++;
        else before++;
        await sleep(3);
      }
      expect(before).toBeGreaterThan(0);

      // The tickets are free for others at once, still before any sweep.
      await lockOf(store, req('u3', { quantity: 10 }));
      await refused(store.lock(req('u4')), 'INSUFFICIENT_TICKETS');

      const sweeps = await Promise.all([store.sweep(100), store.sweep(100), store.sweep(100)]);
      const handedOut = sweeps.flatMap(events);
      expect(handedOut).toEqual([`expired:${lock.lockId}`]);
      expect(sweeps.reduce((n, s) => n + s.value.expired, 0)).toBe(1);
      const recorded = sweeps.find((s) => s.transitions.length > 0);
      expect(recorded?.transitions[0]?.lock).toMatchObject({ status: 'EXPIRED', expiresAt: lock.expiresAt, quantity: 4 });
      expect(recorded?.availability).toMatchObject([{ categoryId: 'A', lockedTickets: 10, availableTickets: 0 }]);
      const again = await store.sweep(100);
      expect(again.transitions).toEqual([]);
      expect(again.value.expired).toBe(0);
      expect((await store.get(lock.lockId)).value?.status).toBe('EXPIRED');
    });

    it('the sweep hands out due locks in expiresAt order, at most limit per call', async () => {
      const store = await open({ lockDurationMs: 300 });
      const order: string[] = [];
      for (const user of ['u1', 'u2', 'u3']) {
        order.push((await lockOf(store, req(user))).lockId);
        await sleep(5);
      }
      await sleepUntil(Date.now() + 300);
      const first = await store.sweep(2);
      expect(first.value.expired).toBe(2);
      expect(first.transitions.map((t) => t.lock.lockId)).toEqual(order.slice(0, 2));
      expect(first.availability).toMatchObject([{ categoryId: 'A', lockedTickets: 0 }]);
      const second = await store.sweep(2);
      expect(second.transitions.map((t) => t.lock.lockId)).toEqual(order.slice(2));
      expect(second.value.expired).toBe(1);
    });

    it('a mutating call on a due lock records its expiry itself and hands it out first (the sweep does not repeat it)', async () => {
      const store = await open({ lockDurationMs: 300 });
      const viaRelease = await lockOf(store, req('u1'));
      const viaRelock = await lockOf(store, req('u2'));
      await sleepUntil(viaRelock.expiresAt);

      const release = await store.release(viaRelease.lockId, 'order-cancelled');
      expect(release.value).toMatchObject({ status: 'EXPIRED', lockId: viaRelease.lockId });
      expect(events(release)).toEqual([`expired:${viaRelease.lockId}`]);

      const relock = await store.lock(req('u2', { quantity: 2 }));
      expect(events(relock)).toEqual([`expired:${viaRelock.lockId}`, `created:${relock.value.lock.lockId}`]);
      expect(relock.availability).toMatchObject([{ categoryId: 'A', lockedTickets: 2 }]);

      expect((await store.sweep(100)).transitions).toEqual([]);
      expect(await statusOf(store, viaRelease.lockId)).toBe('EXPIRED');
      expect(await statusOf(store, viaRelock.lockId)).toBe('EXPIRED');
    });
  });

  describe('late confirm', () => {
    it('succeeds while the stock remains, before the sweep: expired then confirmed, quantity moves to sold', async () => {
      const store = await open({ lockDurationMs: 300 });
      const lock = await lockOf(store, req('u1', { quantity: 3 }));
      await sleepUntil(lock.expiresAt);
      const reply = await store.confirm(lock.lockId, 'order-late');
      expect(events(reply)).toEqual([`expired:${lock.lockId}`, `confirmed:${lock.lockId}`]);
      expect(reply.transitions[0]?.lock.status).toBe('EXPIRED');
      expect(reply.value).toMatchObject({ status: 'CONFIRMED', orderId: 'order-late', confirmedAt: reply.now });
      expect(reply.availability).toMatchObject([{ soldTickets: 3, lockedTickets: 0, availableTickets: 7 }]);
      expect((await store.sweep(100)).transitions).toEqual([]);
      expect(await statusOf(store, lock.lockId)).toBe('CONFIRMED');
    });

    it('succeeds after the sweep recorded EXPIRED: confirmed only', async () => {
      const store = await open({ lockDurationMs: 300 });
      const lock = await lockOf(store, req('u1', { quantity: 3 }));
      await sleepUntil(lock.expiresAt);
      await store.sweep(100);
      const reply = await store.confirm(lock.lockId);
      expect(events(reply)).toEqual([`confirmed:${lock.lockId}`]);
      expect(reply.value.status).toBe('CONFIRMED');
      expect(await counts(store)).toMatchObject({ soldTickets: 3, lockedTickets: 0, availableTickets: 7 });
      expect((await store.stats()).value.locksByStatus).toEqual({ active: 0, expired: 0, confirmed: 1, released: 0 });
    });

    it('fails with LOCK_EXPIRED when others took the tickets meanwhile (before and after the sweep)', async () => {
      const store = await open({ lockDurationMs: 300 }, [
        { id: 1, categories: [{ categoryId: 'A', totalTickets: 4 }] },
      ]);
      const early = await lockOf(store, req('u1', { quantity: 3 }));
      const swept = await lockOf(store, req('u2', { quantity: 1 }));
      await sleepUntil(swept.expiresAt);
      const taker = await lockOf(store, req('u3', { quantity: 4 }));

      const e = await refused(store.confirm(early.lockId, 'order-1'), 'LOCK_EXPIRED');
      expect(e.status).toBe('EXPIRED');
      expect(await statusOf(store, early.lockId)).toBe('EXPIRED');
      expect((await store.get(early.lockId)).value?.orderId).toBeUndefined();

      await store.sweep(100);
      await refused(store.confirm(swept.lockId), 'LOCK_EXPIRED');
      expect(await statusOf(store, swept.lockId)).toBe('EXPIRED');
      expect(await counts(store)).toMatchObject({ soldTickets: 0, lockedTickets: 4, availableTickets: 0 });

      // Once the taker lets go, the late confirm goes through.
      await store.release(taker.lockId);
      expect((await store.confirm(swept.lockId)).value.status).toBe('CONFIRMED');
      expect(await counts(store)).toMatchObject({ soldTickets: 1, lockedTickets: 0, availableTickets: 3 });
    });
  });
}
