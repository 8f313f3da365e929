import { describe, expect, it } from 'vitest';
import { type ContractHarness, refused, sleepUntil } from './harness.js';

/** Repeated calls (confirm, release, lock with a requestId) and session release. */
export function repeatsContract({ open, req, nextRequestId, counts, lockOf, statusOf, events }: ContractHarness): void {
  describe('idempotency', () => {
    it('confirm twice for the same order: same answer, no transition', async () => {
      const store = await open();
      const lock = await lockOf(store, req('u1', { quantity: 2 }));
      const first = await store.confirm(lock.lockId, 'order-1');
      const second = await store.confirm(lock.lockId, 'order-1');
      expect(second.value).toEqual(first.value);
      expect(second.transitions).toEqual([]);
      expect(second.availability).toEqual([]);
      expect(await counts(store)).toMatchObject({ soldTickets: 2, version: 3 });

      const anonymous = await lockOf(store, req('u2'));
      const once = await store.confirm(anonymous.lockId);
      expect((await store.confirm(anonymous.lockId)).value).toEqual(once.value);
    });

    it('confirm of a CONFIRMED lock for another order (or none) is refused LOCK_NOT_ACTIVE with the order it was confirmed for', async () => {
      const store = await open();
      const lock = await lockOf(store, req('u1', { quantity: 2 }));
      const first = await store.confirm(lock.lockId, 'order-A');
      const other = await refused(store.confirm(lock.lockId, 'order-B'), 'LOCK_NOT_ACTIVE');
      expect(other.status).toBe('CONFIRMED');
      expect(other.orderId).toBe('order-A');
      const none = await refused(store.confirm(lock.lockId), 'LOCK_NOT_ACTIVE');
      expect(none.orderId).toBe('order-A');
      expect((await store.get(lock.lockId)).value).toEqual(first.value);
      expect(await counts(store)).toMatchObject({ soldTickets: 2, version: 3 });

      // Confirmed without an order: an order coming later is refused too (nothing to name).
      const bare = await lockOf(store, req('u2'));
      await store.confirm(bare.lockId);
      const later = await refused(store.confirm(bare.lockId, 'order-C'), 'LOCK_NOT_ACTIVE');
      expect(later.orderId).toBeUndefined();
    });

    it('release of RELEASED and of EXPIRED answers the lock unchanged', async () => {
      const store = await open({ lockDurationMs: 300 });
      const released = await lockOf(store, req('u1'));
      const expired = await lockOf(store, req('u2'));
      const first = await store.release(released.lockId, 'first');
      const second = await store.release(released.lockId, 'second');
      expect(second.value).toEqual(first.value);
      expect(second.value.reason).toBe('first');
      expect(second.transitions).toEqual([]);
      expect(second.availability).toEqual([]);

      await sleepUntil(expired.expiresAt);
      await store.sweep(100);
      const version = (await counts(store)).version;
      const onExpired = await store.release(expired.lockId, 'late');
      expect(onExpired.value).toMatchObject({ status: 'EXPIRED', lockId: expired.lockId });
      expect(onExpired.value.releasedAt).toBeUndefined();
      expect(onExpired.transitions).toEqual([]);
      expect(await statusOf(store, expired.lockId)).toBe('EXPIRED');
      expect(await counts(store)).toMatchObject({ version, lockedTickets: 0 });
    });
  });

  describe('requestId', () => {
    it('a retry from the same user answers the first lock (replayed), locking once', async () => {
      const store = await open();
      const requestId = nextRequestId();
      const first = await store.lock(req('u1', { quantity: 2, requestId }));
      const retry = await store.lock(req('u1', { quantity: 2, requestId }));
      expect(retry.value.replayed).toBe(true);
      expect(retry.value.lock.lockId).toBe(first.value.lock.lockId);
      expect(retry.value.lock.expiresAt).toBe(first.value.lock.expiresAt);
      expect(retry.value.lock.status).toBe('ACTIVE');
      expect(retry.transitions).toEqual([]);
      expect(retry.availability).toEqual([]);
      expect((await store.activeLocks('u1')).value).toHaveLength(1);
      expect(await counts(store)).toMatchObject({ lockedTickets: 2, version: 2 });
      expect((await store.stats()).value.totalLocks).toBe(1);

      // The replay carries the lock's current status.
      await store.release(first.value.lock.lockId);
      const late = await store.lock(req('u1', { quantity: 2, requestId }));
      expect(late.value).toMatchObject({ replayed: true, lock: { lockId: first.value.lock.lockId, status: 'RELEASED' } });
      expect((await store.stats()).value.totalLocks).toBe(1);
    });

    it('concurrent calls with the same requestId make one lock', async () => {
      const store = await open();
      const requestId = nextRequestId();
      const replies = await Promise.all(Array.from({ length: 5 }, () => store.lock(req('u1', { requestId }))));
      expect(new Set(replies.map((r) => r.value.lock.lockId)).size).toBe(1);
      expect(new Set(replies.map((r) => r.value.lock.expiresAt)).size).toBe(1);
      expect(replies.filter((r) => !r.value.replayed)).toHaveLength(1);
      expect(await counts(store)).toMatchObject({ lockedTickets: 1 });
    });

    it('another user with the same requestId gets a lock of its own', async () => {
      const store = await open();
      const requestId = nextRequestId();
      const a = await store.lock(req('u1', { requestId }));
      const b = await store.lock(req('u2', { requestId }));
      expect(b.value.replayed).toBe(false);
      expect(b.value.lock.lockId).not.toBe(a.value.lock.lockId);
      expect(b.value.lock.userId).toBe('u2');
      expect(await counts(store)).toMatchObject({ lockedTickets: 2 });
    });

    it('the same requestId with another event, category or quantity is VALIDATION_FAILED, never the first lock', async () => {
      const store = await open();
      const requestId = nextRequestId();
      const first = await lockOf(store, req('u1', { quantity: 2, requestId }));
      for (const other of [
        req('u1', { quantity: 3, requestId }),
        req('u1', { quantity: 2, categoryId: 2, requestId }),
        req('u1', { quantity: 2, eventId: 2, requestId }),
        req('u1', { quantity: 2, categoryId: 'no-such-category', requestId }),
      ]) {
        const error = await refused(store.lock(other), 'VALIDATION_FAILED');
        expect(error.message).toBe('requestId was already used for another request');
      }
      expect((await store.activeLocks('u1')).value.map((l) => l.lockId)).toEqual([first.lockId]);
      // The same payload (ids in either form) is still the retry, also after a partial unlock.
      await store.unlock({ userId: 'u1', target: { lockId: first.lockId }, quantity: 1 });
      const retry = await store.lock(req('u1', { quantity: 2, eventId: '1', requestId }));
      expect(retry.value).toMatchObject({ replayed: true, lock: { lockId: first.lockId, quantity: 1 } });
    });

    it('a refused request is not remembered: its retry is judged afresh', async () => {
      const store = await open();
      const requestId = nextRequestId();
      const taker = await lockOf(store, req('u1', { quantity: 10 }));
      await refused(store.lock(req('u2', { requestId })), 'INSUFFICIENT_TICKETS');
      await store.release(taker.lockId);
      expect((await store.lock(req('u2', { requestId }))).value.replayed).toBe(false);
    });
  });

  describe('sessions', () => {
    it('releaseSession releases only that session\'s ACTIVE locks', async () => {
      const store = await open();
      const a = await lockOf(store, req('u1', { sessionId: 's1' }));
      const b = await lockOf(store, req('u1', { sessionId: 's1', categoryId: 2, quantity: 2 }));
      const confirmed = await lockOf(store, req('u2', { sessionId: 's1', quantity: 3 }));
      await store.confirm(confirmed.lockId);
      const otherSession = await lockOf(store, req('u3', { sessionId: 's2' }));

      const reply = await store.releaseSession('s1', 'disconnected');
      expect(reply.value.map((l) => l.lockId).sort()).toEqual([a.lockId, b.lockId].sort());
      expect(reply.value.every((l) => l.status === 'RELEASED' && l.reason === 'disconnected')).toBe(true);
      expect(reply.transitions.map((t) => t.event)).toEqual(['released', 'released']);
      expect(reply.availability.map((c) => c.categoryId).sort()).toEqual([2, 'A'].sort());
      expect(await statusOf(store, confirmed.lockId)).toBe('CONFIRMED');
      expect(await statusOf(store, otherSession.lockId)).toBe('ACTIVE');
      expect(await counts(store)).toMatchObject({ lockedTickets: 1, soldTickets: 3 });
      expect(await counts(store, 2)).toMatchObject({ lockedTickets: 0 });

      const again = await store.releaseSession('s1', 'disconnected');
      expect(again.value).toEqual([]);
      expect(again.transitions).toEqual([]);
    });

    it('a session\'s due lock is not released: it expires, and its expiry is handed out once', async () => {
      const store = await open({ lockDurationMs: 300 });
      const due = await lockOf(store, req('u1', { sessionId: 's1' }));
      await sleepUntil(due.expiresAt);
      const live = await lockOf(store, req('u2', { sessionId: 's1' }));
      const reply = await store.releaseSession('s1', 'disconnected');
      expect(reply.value.map((l) => l.lockId)).toEqual([live.lockId]);
      expect(await statusOf(store, due.lockId)).toBe('EXPIRED');
      const sweep = await store.sweep(100);
      expect([...events(reply), ...events(sweep)].filter((e) => e.endsWith(due.lockId))).toEqual([`expired:${due.lockId}`]);
    });
  });
}
