import { describe, expect, it } from 'vitest';
import { changesOf, type ContractHarness, POLICY, refused, sleepUntil } from './harness.js';

/** ACTIVE → RELEASED / CONFIRMED / EXPIRED: transitions, counts, and the refusals of terminal locks. */
export function transitionsContract({ open, req, counts, lockOf, statusOf, events }: ContractHarness): void {
  describe('transitions', () => {
    it('lock creates an ACTIVE lock: created transition, counts, expiresAt = now + lockDurationMs', async () => {
      const store = await open();
      const reply = await store.lock(req('u1', { quantity: 3 }));
      const { lock, replayed } = reply.value;
      expect(replayed).toBe(false);
      expect(lock).toMatchObject({
        eventId: 1,
        categoryId: 'A',
        quantity: 3,
        userId: 'u1',
        sessionId: 's-u1',
        status: 'ACTIVE',
        createdAt: reply.now,
        expiresAt: reply.now + POLICY.lockDurationMs,
      });
      expect(lock.lockId).toMatch(/^[0-9a-f-]{36}$/i);
      expect(reply.transitions).toEqual([{ event: 'created', lock }]);
      expect(reply.availability).toMatchObject([
        { eventId: 1, categoryId: 'A', totalTickets: 10, lockedTickets: 3, availableTickets: 7, soldTickets: 0, version: 2 },
      ]);
      expect(reply.availability[0]?.timestamp).toBe(new Date(reply.now).toISOString());
      expect((await store.get(lock.lockId)).value).toEqual(lock);
      expect((await store.activeLocks('u1')).value).toEqual([lock]);
      expect(await counts(store)).toMatchObject({ lockedTickets: 3, availableTickets: 7, version: 2 });
    });

    it('unlock releases the whole lock with reason user-unlock', async () => {
      const store = await open();
      const lock = await lockOf(store, req('u1', { quantity: 3 }));
      const reply = await store.unlock({ userId: 'u1', target: { lockId: lock.lockId } });
      expect(reply.value).toMatchObject({ releasedQuantity: 3, remainingQuantity: 0 });
      expect(reply.value.lock).toMatchObject({ status: 'RELEASED', reason: 'user-unlock', releasedAt: reply.now });
      expect(events(reply)).toEqual([`released:${lock.lockId}`]);
      expect(reply.transitions[0]?.lock).toEqual(reply.value.lock);
      expect(reply.availability).toMatchObject([{ categoryId: 'A', lockedTickets: 0, availableTickets: 10, version: 3 }]);
      expect((await store.activeLocks('u1')).value).toEqual([]);
      expect(await statusOf(store, lock.lockId)).toBe('RELEASED');
    });

    it('release frees an ACTIVE lock with the given reason, "released" by default', async () => {
      const store = await open();
      const a = await lockOf(store, req('u1', { quantity: 2 }));
      const b = await lockOf(store, req('u2', { quantity: 2 }));
      const withReason = await store.release(a.lockId, 'order-cancelled');
      expect(withReason.value).toMatchObject({ status: 'RELEASED', reason: 'order-cancelled', releasedAt: withReason.now });
      expect(events(withReason)).toEqual([`released:${a.lockId}`]);
      const byDefault = await store.release(b.lockId, undefined, 'u2');
      expect(byDefault.value).toMatchObject({ status: 'RELEASED', reason: 'released' });
      expect(byDefault.availability).toMatchObject([{ lockedTickets: 0, availableTickets: 10 }]);
    });

    it('confirm moves the quantity from locked to sold', async () => {
      const store = await open();
      const lock = await lockOf(store, req('u1', { quantity: 4 }));
      const reply = await store.confirm(lock.lockId, 'order-1');
      expect(reply.value).toMatchObject({ status: 'CONFIRMED', orderId: 'order-1', confirmedAt: reply.now, quantity: 4 });
      expect(events(reply)).toEqual([`confirmed:${lock.lockId}`]);
      expect(reply.availability).toMatchObject([{ lockedTickets: 0, soldTickets: 4, availableTickets: 6, version: 3 }]);
      expect((await store.activeLocks('u1')).value).toEqual([]);
    });

    it('refuses confirm of RELEASED and release of CONFIRMED with LOCK_NOT_ACTIVE; states stay terminal', async () => {
      const store = await open();
      const released = await lockOf(store, req('u1'));
      await store.release(released.lockId);
      const confirmed = await lockOf(store, req('u2'));
      await store.confirm(confirmed.lockId);
      const before = await counts(store);

      const e1 = await refused(store.confirm(released.lockId, 'order-x'), 'LOCK_NOT_ACTIVE');
      expect(e1.status).toBe('RELEASED');
      const e2 = await refused(store.release(confirmed.lockId), 'LOCK_NOT_ACTIVE');
      expect(e2.status).toBe('CONFIRMED');
      await refused(store.release(confirmed.lockId, 'x', 'u2'), 'LOCK_NOT_ACTIVE');

      expect(await statusOf(store, released.lockId)).toBe('RELEASED');
      expect(await statusOf(store, confirmed.lockId)).toBe('CONFIRMED');
      expect((await store.get(released.lockId)).value?.orderId).toBeUndefined();
      expect(await counts(store)).toEqual({ ...before, timestamp: expect.any(String) as string });
    });

    it('refuses unlock and extend of CONFIRMED and RELEASED locks with LOCK_NOT_ACTIVE', async () => {
      const store = await open();
      const released = await lockOf(store, req('u1'));
      await store.release(released.lockId);
      const confirmed = await lockOf(store, req('u1'));
      await store.confirm(confirmed.lockId);
      for (const lock of [released, confirmed]) {
        await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId } }), 'LOCK_NOT_ACTIVE');
        await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, quantity: 1 }), 'LOCK_NOT_ACTIVE');
        await refused(store.extend(lock.lockId, 'u1'), 'LOCK_NOT_ACTIVE');
      }
      // By category there is no ACTIVE lock left to target.
      await refused(store.unlock({ userId: 'u1', target: { eventId: 1, categoryId: 'A' } }), 'LOCK_NOT_FOUND');
      expect(await statusOf(store, released.lockId)).toBe('RELEASED');
      expect(await statusOf(store, confirmed.lockId)).toBe('CONFIRMED');
      expect(await counts(store)).toMatchObject({ soldTickets: 1, lockedTickets: 0, availableTickets: 9 });
    });

    it('refuses unlock and extend of an EXPIRED lock (due, or recorded by the sweep) with LOCK_EXPIRED', async () => {
      const store = await open({ lockDurationMs: 300 });
      const due = await lockOf(store, req('u1'));
      const swept = await lockOf(store, req('u2'));
      await sleepUntil(swept.expiresAt);
      // The refusal records the expiry and carries it, so the owner hears of it exactly once.
      const first = await refused(store.unlock({ userId: 'u1', target: { lockId: due.lockId } }), 'LOCK_EXPIRED');
      expect(first.status).toBe('EXPIRED');
      expect(changesOf(first)?.transitions.map((t) => `${t.event}:${t.lock.lockId}`)).toEqual([`expired:${due.lockId}`]);
      expect(changesOf(first)?.availability).toMatchObject([{ categoryId: 'A', lockedTickets: 0, version: 4 }]);
      const second = await refused(store.extend(due.lockId, 'u1'), 'LOCK_EXPIRED');
      expect(changesOf(second)?.transitions ?? []).toEqual([]);
      const sweep = await store.sweep(100);
      expect(events(sweep)).toEqual([`expired:${swept.lockId}`]);
      await refused(store.unlock({ userId: 'u2', target: { lockId: swept.lockId } }), 'LOCK_EXPIRED');
      await refused(store.unlock({ userId: 'u2', target: { lockId: swept.lockId }, quantity: 1 }), 'LOCK_EXPIRED');
      await refused(store.extend(swept.lockId, 'u2'), 'LOCK_EXPIRED');
      expect(await statusOf(store, due.lockId)).toBe('EXPIRED');
      expect(await statusOf(store, swept.lockId)).toBe('EXPIRED');
      expect(await counts(store)).toMatchObject({ lockedTickets: 0, availableTickets: 10 });
    });

    it('CONFIRMED and RELEASED locks stay so past their expiresAt: the sweep does not touch them', async () => {
      const store = await open({ lockDurationMs: 300 });
      const confirmed = await lockOf(store, req('u1'));
      await store.confirm(confirmed.lockId);
      const released = await lockOf(store, req('u2'));
      await store.release(released.lockId);
      const expiring = await lockOf(store, req('u3'));
      await sleepUntil(expiring.expiresAt);
      const sweep = await store.sweep(100);
      expect(sweep.value.expired).toBe(1);
      expect(events(sweep)).toEqual([`expired:${expiring.lockId}`]);
      expect(sweep.transitions[0]?.lock.status).toBe('EXPIRED');
      expect(await statusOf(store, confirmed.lockId)).toBe('CONFIRMED');
      expect(await statusOf(store, released.lockId)).toBe('RELEASED');
      // EXPIRED is terminal too: release answers it unchanged, the sweep does not hand it out again.
      const release = await store.release(expiring.lockId);
      expect(release.value.status).toBe('EXPIRED');
      expect(release.transitions).toEqual([]);
      expect((await store.sweep(100)).transitions).toEqual([]);
      expect(await counts(store)).toMatchObject({ soldTickets: 1, lockedTickets: 0, availableTickets: 9 });
    });
  });
}
