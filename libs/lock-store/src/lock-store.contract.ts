import { afterEach, describe, expect, it } from 'vitest';
import {
  LockError,
  effectiveStatus,
  type Availability,
  type CatalogId,
  type ErrorCode,
  type EventInfo,
  type LockPolicy,
  type LockRecord,
  type LockRequest,
  type LockStore,
  type StoreReply,
} from '#lock-domain';

/** Long enough that nothing expires during a test unless the test asks for it. */
export const POLICY: LockPolicy = {
  lockDurationMs: 60_000,
  maxLifetimeMs: 180_000,
  maxActiveLocksPerUser: 5,
  maxTicketsPerLock: 10,
  retentionMs: 60_000,
};

/** Event `1` (a number) with categories `"A"` (10 tickets) and `2` (a number, 5 tickets). */
const EVENT: EventInfo = {
  id: 1,
  name: 'Concert',
  categories: [
    { categoryId: 'A', name: 'Floor', totalTickets: 10 },
    { categoryId: 2, name: 'Balcony', totalTickets: 5 },
  ],
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the local clock passes `at` by `margin` ms (the Redis store's TIME is the same host clock). */
const sleepUntil = (at: number, margin = 40) => sleep(Math.max(0, at - Date.now() + margin));

async function refused(call: Promise<unknown>, code: ErrorCode): Promise<LockError> {
  const outcome = await call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected ${code}, the call succeeded with ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(LockError);
  expect((outcome.error as LockError).code).toBe(code);
  return outcome.error as LockError;
}

/** What a refusal that still recorded something (a due lock's expiry) carries, as `changes`. */
function changesOf(error: LockError): LockError['changes'] {
  return error.changes;
}

/**
 * The semantics of docs/lock-store.md, run against every {@link LockStore} implementation.
 * `create` must answer a store with empty state (e.g. a fresh Redis key prefix) for the policy.
 * Real time only: expiry tests use short durations and wait.
 */
export function lockStoreContract(name: string, create: (policy: LockPolicy) => Promise<LockStore>): void {
  describe(`LockStore contract: ${name}`, () => {
    const opened: LockStore[] = [];

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    async function open(overrides: Partial<LockPolicy> = {}, events: EventInfo[] = [EVENT]): Promise<LockStore> {
      const store = await create({ ...POLICY, ...overrides });
      opened.push(store);
      for (const event of events) await store.defineEvent(event, { replaceTotals: false });
      return store;
    }

    let requests = 0;
    function req(userId: string, overrides: Partial<Omit<LockRequest, 'hold'>> & { quantity?: number } = {}): LockRequest {
      const { quantity = 1, ...rest } = overrides;
      return { eventId: 1, categoryId: 'A', userId, sessionId: `s-${userId}`, hold: { kind: 'quantity', quantity }, ...rest };
    }
    const nextRequestId = () => `r-${++requests}`;

    async function counts(store: LockStore, categoryId: CatalogId = 'A', eventId: CatalogId = 1): Promise<Availability> {
      const { value } = await store.availability(eventId, [categoryId]);
      expect(value).toHaveLength(1);
      return value[0] as Availability;
    }

    async function lockOf(store: LockStore, request: LockRequest): Promise<LockRecord> {
      return (await store.lock(request)).value.lock;
    }

    async function statusOf(store: LockStore, lockId: string): Promise<string | null> {
      const { value, now } = await store.get(lockId);
      return value ? effectiveStatus(value, now) : null;
    }

    const events = (reply: StoreReply<unknown>) => reply.transitions.map((t) => `${t.event}:${t.lock.lockId}`);

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

      it('unlock by lockId with eventId/categoryId along: they must be the lock\'s (either form of id), else VALIDATION_FAILED', async () => {
        const store = await open();
        const lock = await lockOf(store, req('u1', { quantity: 3 }));
        await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId, eventId: 2, categoryId: 'A' } }), 'VALIDATION_FAILED');
        await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId, eventId: 1, categoryId: 'B' } }), 'VALIDATION_FAILED');
        await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId, categoryId: 'B' } }), 'VALIDATION_FAILED');
        // Ownership is checked first: a stranger learns nothing about the lock's event.
        await refused(store.unlock({ userId: 'u2', target: { lockId: lock.lockId, eventId: 2, categoryId: 'A' } }), 'NOT_LOCK_OWNER');
        expect(await counts(store)).toMatchObject({ lockedTickets: 3, version: 2 });

        const partial = await store.unlock({ userId: 'u1', target: { lockId: lock.lockId, eventId: '1', categoryId: 'A' }, quantity: 1 });
        expect(partial.value).toMatchObject({ releasedQuantity: 1, remainingQuantity: 2 });
        const rest = await store.unlock({ userId: 'u1', target: { lockId: lock.lockId, eventId: 1 } });
        expect(rest.value).toMatchObject({ releasedQuantity: 2, remainingQuantity: 0 });
        expect(await statusOf(store, lock.lockId)).toBe('RELEASED');
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

    describe('idempotency', () => {
      it('confirm twice: same answer, no transition, a different orderId does not overwrite', async () => {
        const store = await open();
        const lock = await lockOf(store, req('u1', { quantity: 2 }));
        const first = await store.confirm(lock.lockId, 'order-1');
        const second = await store.confirm(lock.lockId, 'order-2');
        expect(second.value).toEqual(first.value);
        expect(second.transitions).toEqual([]);
        expect(second.availability).toEqual([]);
        expect(await counts(store)).toMatchObject({ soldTickets: 2, version: 3 });
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
  });
}
