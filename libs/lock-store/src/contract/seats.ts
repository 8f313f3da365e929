import { describe, expect, it } from 'vitest';
import {
  LockError,
  effectiveStatus,
  type ErrorCode,
  type EventInfo,
  type LockPolicy,
  type LockRecord,
  type LockStore,
  type SeatHoldRequest,
  type SeatStatus,
  type StoreReply,
} from '#lock-domain';
import { POLICY, sleep, sleepUntil, type ContractHarness } from './harness.js';

const seatsOf = (row: string, n: number) => Array.from({ length: n }, (_, i) => `${row}${i + 1}`);

/**
 * Event `hall` (a string id): reserved category `stalls` (rows A, B of 6 seats, row C of 4 with C1
 * blocked: 15 sellable seats), reserved category `box` (one row X1..X3) and general admission `ga`.
 */
export const HALL: EventInfo = {
  id: 'hall',
  name: 'Small hall',
  categories: [
    {
      categoryId: 'stalls',
      name: 'Stalls',
      totalTickets: 0,
      seats: { rows: [{ row: 'A', seats: seatsOf('A', 6) }, { row: 'B', seats: seatsOf('B', 6) }, { row: 'C', seats: seatsOf('C', 4) }], blocked: ['C1'] },
    },
    { categoryId: 'box', totalTickets: 0, seats: { rows: [{ row: 'X', seats: seatsOf('X', 3) }] } },
    { categoryId: 'ga', totalTickets: 10 },
  ],
};

async function refused(call: Promise<unknown>, code: ErrorCode, seatIds?: string[]): Promise<LockError> {
  const outcome = await call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected ${code}, the call succeeded with ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(LockError);
  const error = outcome.error as LockError;
  expect(error.code).toBe(code);
  if (seatIds !== undefined) expect([...(error.seatIds ?? [])].sort()).toEqual([...seatIds].sort());
  return error;
}

/**
 * Reserved seating (CONTRACT §6) against every {@link LockStore}: named holds all or nothing, add to
 * a lock, partial unlock, best available, the orphan rule, confirm / late confirm / release / exact
 * expiry of seats, seat versions, and a race.
 */
export function seatsContract(harness: ContractHarness): void {
  describe('reserved seating', () => {
    const open = (overrides: Partial<LockPolicy> = {}, events: EventInfo[] = [HALL]): Promise<LockStore> => harness.open(overrides, events);

    const hold = (userId: string, seatIds: string[], extra: Partial<SeatHoldRequest> = {}): SeatHoldRequest => ({
      eventId: 'hall',
      seatIds,
      userId,
      sessionId: `s-${userId}`,
      ...extra,
    });
    const best = (userId: string, quantity: number, categoryId = 'stalls') => ({
      eventId: 'hall',
      categoryId,
      userId,
      sessionId: `s-${userId}`,
      hold: { kind: 'quantity' as const, quantity },
    });

    async function statuses(store: LockStore): Promise<{ version: number; of: Record<string, SeatStatus> }> {
      const { value } = await store.seatMap('hall');
      const of: Record<string, SeatStatus> = {};
      for (const category of value.categories) for (const row of category.rows) for (const seat of row.seats) of[seat.seatId] = seat.status;
      return { version: value.version, of };
    }
    const notAvailable = (of: Record<string, SeatStatus>) => Object.entries(of).filter(([, status]) => status !== 'available' && status !== 'blocked');
    async function counts(store: LockStore, categoryId = 'stalls') {
      return (await store.availability('hall', [categoryId])).value[0];
    }
    const held = async (store: LockStore, request: SeatHoldRequest): Promise<LockRecord> => (await store.holdSeats(request)).value.lock;

    describe('seat map', () => {
      it('defines reserved categories: totals are the sellable seats, events() marks them, the map lists rows best first', async () => {
        const store = await open();
        expect((await store.availability('hall')).value).toMatchObject([
          { categoryId: 'stalls', totalTickets: 15, availableTickets: 15, lockedTickets: 0, soldTickets: 0 },
          { categoryId: 'box', totalTickets: 3, availableTickets: 3 },
          { categoryId: 'ga', totalTickets: 10 },
        ]);
        const listed = (await store.events()).value.find((e) => e.id === 'hall');
        expect(listed?.categories.map((c) => c.reserved ?? false)).toEqual([true, true, false]);
        const map = (await store.seatMap('hall')).value;
        expect(map.eventId).toBe('hall');
        expect(map.version).toBe(1);
        expect(map.categories.map((c) => c.categoryId)).toEqual(['stalls', 'box']);
        expect(map.categories[0]?.rows.map((r) => r.row)).toEqual(['A', 'B', 'C']);
        expect(map.categories[0]?.rows[2]?.seats).toEqual([
          { seatId: 'C1', status: 'blocked' },
          { seatId: 'C2', status: 'available' },
          { seatId: 'C3', status: 'available' },
          { seatId: 'C4', status: 'available' },
        ]);
        await refused(store.seatMap('nope'), 'EVENT_NOT_FOUND');
      });

      it('refuses a layout with a seat id used twice in the event, changing nothing', async () => {
        const store = await open({}, []);
        const bad: EventInfo = {
          id: 'dup',
          categories: [
            { categoryId: 'a', totalTickets: 0, seats: { rows: [{ row: 'A', seats: ['S1', 'S2'] }] } },
            { categoryId: 'b', totalTickets: 0, seats: { rows: [{ row: 'B', seats: ['S2'] }] } },
          ],
        };
        await refused(store.defineEvent(bad, { replaceTotals: false }), 'VALIDATION_FAILED');
        await refused(store.seatMap('dup'), 'EVENT_NOT_FOUND');
      });
    });

    describe('hold-seats', () => {
      it('holds named seats as one lock: seats, quantity, created transition, counts, one seat version step', async () => {
        const store = await open();
        const reply = await store.holdSeats(hold('u1', ['A3', 'A4']));
        const { lock, replayed } = reply.value;
        expect(replayed).toBe(false);
        expect(lock).toMatchObject({ eventId: 'hall', categoryId: 'stalls', quantity: 2, seats: ['A3', 'A4'], status: 'ACTIVE', userId: 'u1' });
        expect(lock.expiresAt).toBe(reply.now + POLICY.lockDurationMs);
        expect(reply.transitions).toEqual([{ event: 'created', lock }]);
        expect(reply.availability).toMatchObject([{ categoryId: 'stalls', lockedTickets: 2, availableTickets: 13, version: 2 }]);
        expect(reply.seats).toEqual([
          {
            eventId: 'hall',
            fromVersion: 1,
            version: 2,
            changes: [
              { seatId: 'A3', categoryId: 'stalls', status: 'held' },
              { seatId: 'A4', categoryId: 'stalls', status: 'held' },
            ],
          },
        ]);
        const map = await statuses(store);
        expect(map.version).toBe(2);
        expect(notAvailable(map.of)).toEqual([
          ['A3', 'held'],
          ['A4', 'held'],
        ]);
        expect((await store.get(lock.lockId)).value).toEqual(lock);
        expect((await store.activeLocks('u1')).value).toEqual([lock]);
      });

      it('all or nothing: one taken seat refuses the whole hold, naming exactly the taken seats; nothing changes', async () => {
        const store = await open();
        await store.holdSeats(hold('u1', ['A3', 'A4']));
        const before = await statuses(store);
        await refused(store.holdSeats(hold('u2', ['A2', 'A3', 'A4', 'A5'])), 'SEATS_UNAVAILABLE', ['A3', 'A4']);
        await refused(store.holdSeats(hold('u2', ['C1', 'C2'])), 'SEATS_UNAVAILABLE', ['C1']);
        expect(await statuses(store)).toEqual(before);
        expect(await counts(store)).toMatchObject({ lockedTickets: 2, version: 2 });
        expect((await store.activeLocks('u2')).value).toEqual([]);
      });

      it('SEAT_NOT_FOUND names the unknown seats; several categories, repeats, empty and too many are VALIDATION_FAILED', async () => {
        const store = await open({ maxTicketsPerLock: 4 });
        await refused(store.holdSeats(hold('u1', ['A1', 'Z9', 'Q1'])), 'SEAT_NOT_FOUND', ['Z9', 'Q1']);
        await refused(store.holdSeats(hold('u1', ['A1', 'X1'])), 'VALIDATION_FAILED');
        await refused(store.holdSeats(hold('u1', ['A1', 'A1'])), 'VALIDATION_FAILED');
        await refused(store.holdSeats(hold('u1', [])), 'VALIDATION_FAILED');
        await refused(store.holdSeats(hold('u1', seatsOf('A', 5))), 'VALIDATION_FAILED');
        await refused(store.holdSeats(hold('u1', [1, 2] as unknown as string[])), 'VALIDATION_FAILED');
        await refused(store.holdSeats({ ...hold('u1', ['A1']), eventId: 'nope' }), 'EVENT_NOT_FOUND');
        expect((await statuses(store)).version).toBe(1);
        expect(await counts(store)).toMatchObject({ lockedTickets: 0, version: 1 });
      });

      it('one lock per user per category (DUPLICATE_LOCK); adding to the lock keeps expiresAt, up to maxTicketsPerLock', async () => {
        const store = await open({ maxTicketsPerLock: 4 });
        const first = await held(store, hold('u1', ['B1', 'B2']));
        await refused(store.holdSeats(hold('u1', ['B5'])), 'DUPLICATE_LOCK');
        await sleep(5);
        const added = await store.holdSeats(hold('u1', ['B3'], { lockId: first.lockId }));
        expect(added.value.lock).toMatchObject({ lockId: first.lockId, quantity: 3, seats: ['B1', 'B2', 'B3'], expiresAt: first.expiresAt });
        expect(added.transitions).toEqual([]);
        expect(added.availability).toMatchObject([{ categoryId: 'stalls', lockedTickets: 3 }]);
        expect(added.seats?.[0]?.changes).toEqual([{ seatId: 'B3', categoryId: 'stalls', status: 'held' }]);
        await refused(store.holdSeats(hold('u1', ['B4', 'B5'], { lockId: first.lockId })), 'VALIDATION_FAILED');
        await refused(store.holdSeats(hold('u1', ['X1'], { lockId: first.lockId })), 'VALIDATION_FAILED');
        await refused(store.holdSeats(hold('u2', ['B4'], { lockId: first.lockId })), 'NOT_LOCK_OWNER');
        await refused(store.holdSeats(hold('u1', ['B4'], { lockId: 'no-such-lock' })), 'LOCK_NOT_FOUND');
        // Another category is another lock.
        expect((await held(store, hold('u1', ['X2']))).categoryId).toBe('box');
      });

      it('a requestId replays the first answer; the same requestId with other seats is VALIDATION_FAILED', async () => {
        const store = await open();
        const first = await store.holdSeats(hold('u1', ['A1', 'A2'], { requestId: 'r1' }));
        const again = await store.holdSeats(hold('u1', ['A2', 'A1'], { requestId: 'r1' }));
        expect(again.value).toMatchObject({ replayed: true, lock: { lockId: first.value.lock.lockId, expiresAt: first.value.lock.expiresAt } });
        expect(again.transitions).toEqual([]);
        await refused(store.holdSeats(hold('u1', ['A1', 'A3'], { requestId: 'r1' })), 'VALIDATION_FAILED');
        expect(await counts(store)).toMatchObject({ lockedTickets: 2 });
      });
    });

    describe('unlock', () => {
      it('partial unlock by seatIds keeps the lock ACTIVE; the last seats release it', async () => {
        const store = await open();
        const lock = await held(store, hold('u1', ['A2', 'A3', 'A4']));
        const partial = await store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, seatIds: ['A3'] });
        expect(partial.value).toMatchObject({ releasedQuantity: 1, remainingQuantity: 2, lock: { status: 'ACTIVE', quantity: 2, seats: ['A2', 'A4'] } });
        expect(partial.transitions).toEqual([]);
        expect(partial.seats?.[0]).toMatchObject({ fromVersion: 2, version: 3, changes: [{ seatId: 'A3', categoryId: 'stalls', status: 'available' }] });
        expect(await counts(store)).toMatchObject({ lockedTickets: 2 });
        await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, seatIds: ['A3'] }), 'VALIDATION_FAILED');
        await refused(store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, quantity: 1 }), 'VALIDATION_FAILED');
        const rest = await store.unlock({ userId: 'u1', target: { lockId: lock.lockId }, seatIds: ['A4', 'A2'] });
        expect(rest.value).toMatchObject({ releasedQuantity: 2, remainingQuantity: 0, lock: { status: 'RELEASED', reason: 'user-unlock' } });
        expect(rest.transitions.map((t) => t.event)).toEqual(['released']);
        expect(notAvailable((await statuses(store)).of)).toEqual([]);
      });

      it('by lockId with eventId/categoryId along: they must be the lock\'s (else VALIDATION_FAILED, nothing freed)', async () => {
        const store = await open();
        const lock = await held(store, hold('u1', ['A2', 'A3', 'A4']));
        const target = (extra: { eventId?: string; categoryId?: string }) => ({ lockId: lock.lockId, ...extra });
        await refused(store.unlock({ userId: 'u1', target: target({ eventId: 'other' }), seatIds: ['A3'] }), 'VALIDATION_FAILED');
        await refused(store.unlock({ userId: 'u1', target: target({ categoryId: 'ga' }), seatIds: ['A3'] }), 'VALIDATION_FAILED');
        await refused(store.unlock({ userId: 'u1', target: target({ eventId: 'hall', categoryId: 'ga' }) }), 'VALIDATION_FAILED');
        expect(await counts(store)).toMatchObject({ lockedTickets: 3 });
        const partial = await store.unlock({ userId: 'u1', target: target({ eventId: 'hall', categoryId: 'stalls' }), seatIds: ['A3'] });
        expect(partial.value).toMatchObject({ releasedQuantity: 1, remainingQuantity: 2, lock: { seats: ['A2', 'A4'] } });
        const rest = await store.unlock({ userId: 'u1', target: target({ categoryId: 'stalls' }) });
        expect(rest.value).toMatchObject({ releasedQuantity: 2, remainingQuantity: 0, lock: { status: 'RELEASED' } });
      });

      it('unlock without seatIds frees the whole seat lock; seatIds on a quantity lock are VALIDATION_FAILED', async () => {
        const store = await open();
        const lock = await held(store, hold('u1', ['A2', 'A3']));
        const whole = await store.unlock({ userId: 'u1', target: { lockId: lock.lockId } });
        expect(whole.value).toMatchObject({ releasedQuantity: 2, remainingQuantity: 0, lock: { status: 'RELEASED', seats: ['A2', 'A3'] } });
        const ga = (await store.lock(best('u1', 2, 'ga'))).value.lock;
        expect(ga.seats).toBeUndefined();
        await refused(store.unlock({ userId: 'u1', target: { lockId: ga.lockId }, seatIds: ['A1'] }), 'VALIDATION_FAILED');
      });
    });

    describe('confirm and release', () => {
      it('confirm sells the seats; release frees them; a sold seat is unavailable to everyone', async () => {
        const store = await open();
        const a = await held(store, hold('u1', ['A1', 'A2']));
        const b = await held(store, hold('u2', ['B1', 'B2']));
        const confirmed = await store.confirm(a.lockId, 'order-1');
        expect(confirmed.value).toMatchObject({ status: 'CONFIRMED', seats: ['A1', 'A2'] });
        expect(confirmed.seats?.[0]?.changes.map((c) => c.status)).toEqual(['sold', 'sold']);
        const released = await store.release(b.lockId, 'order-cancelled');
        expect(released.value).toMatchObject({ status: 'RELEASED', seats: ['B1', 'B2'] });
        expect(notAvailable((await statuses(store)).of)).toEqual([
          ['A1', 'sold'],
          ['A2', 'sold'],
        ]);
        expect(await counts(store)).toMatchObject({ soldTickets: 2, lockedTickets: 0, availableTickets: 13 });
        await refused(store.holdSeats(hold('u3', ['A2', 'B2'])), 'SEATS_UNAVAILABLE', ['A2']);
      });

      it('late confirm takes back the same seats when all are free; LOCK_EXPIRED, nothing sold, when one was re-taken', async () => {
        const store = await open({ lockDurationMs: 300 });
        const lucky = await held(store, hold('u1', ['A1', 'A2']));
        const unlucky = await held(store, hold('u2', ['B1', 'B2']));
        await sleepUntil(unlucky.expiresAt);
        await held(store, hold('u3', ['B2', 'B3']));

        const late = await store.confirm(lucky.lockId, 'o-1');
        expect(late.value).toMatchObject({ status: 'CONFIRMED', seats: ['A1', 'A2'] });
        expect(late.transitions.map((t) => t.event)).toEqual(['expired', 'confirmed']);

        const error = await refused(store.confirm(unlucky.lockId, 'o-2'), 'LOCK_EXPIRED');
        expect(error.changes?.transitions.map((t) => t.event)).toEqual(['expired']);
        const map = await statuses(store);
        expect(notAvailable(map.of)).toEqual([
          ['A1', 'sold'],
          ['A2', 'sold'],
          ['B2', 'held'],
          ['B3', 'held'],
        ]);
        expect(await counts(store)).toMatchObject({ soldTickets: 2, lockedTickets: 2 });
      });
    });

    describe('exact expiry', () => {
      it('a seat of an expired lock reads available from expiresAt, before any sweep; the sweep never frees a re-taken seat', async () => {
        const store = await open({ lockDurationMs: 1000 });
        const lock = await held(store, hold('u1', ['A1', 'A2']));
        await sleepUntil(lock.expiresAt - 120, 0);
        let before = 0;
        let after = 0;
        while (after < 3) {
          const reply = await store.seatMap('hall');
          const a1 = reply.value.categories[0]?.rows[0]?.seats[0]?.status;
          if (reply.now >= lock.expiresAt) {
            expect(a1).toBe('available');
            after++;
          } else {
            expect(a1).toBe('held');
            before++;
          }
          await sleep(3);
        }
        expect(before).toBeGreaterThan(0);
        const retaken = await held(store, hold('u2', ['A2', 'A3']));
        const swept = await store.sweep(10);
        expect(swept.transitions.map((t) => `${t.event}:${t.lock.lockId}`)).toEqual([`expired:${lock.lockId}`]);
        expect(swept.seats?.[0]?.changes).toEqual([{ seatId: 'A1', categoryId: 'stalls', status: 'available' }]);
        const map = await statuses(store);
        expect(notAvailable(map.of)).toEqual([
          ['A2', 'held'],
          ['A3', 'held'],
        ]);
        expect(await counts(store)).toMatchObject({ lockedTickets: 2 });
        expect(effectiveStatus((await store.get(retaken.lockId)).value as LockRecord, Date.now())).toBe('ACTIVE');
      });
    });

    describe('extend', () => {
      it('extending a seat lock keeps its seats held past the old expiresAt', async () => {
        const store = await open({ lockDurationMs: 400, maxLifetimeMs: 5000 });
        const lock = await held(store, hold('u1', ['B5', 'B6']));
        await sleep(200);
        const extended = (await store.extend(lock.lockId, 'u1')).value;
        expect(extended.expiresAt).toBeGreaterThan(lock.expiresAt);
        expect(extended.seats).toEqual(['B5', 'B6']);
        await sleepUntil(lock.expiresAt);
        expect(notAvailable((await statuses(store)).of)).toEqual([
          ['B5', 'held'],
          ['B6', 'held'],
        ]);
        await refused(store.holdSeats(hold('u2', ['B4', 'B6'])), 'SEATS_UNAVAILABLE', ['B6']);
        await sleepUntil(extended.expiresAt);
        expect(notAvailable((await statuses(store)).of)).toEqual([]);
      });
    });

    describe('best available', () => {
      it('lock-tickets on a reserved category picks adjacent seats nearest the centre of the best row and lists them', async () => {
        const store = await open();
        const reply = await store.lock(best('u1', 2));
        expect(reply.value.lock).toMatchObject({ categoryId: 'stalls', quantity: 2, seats: ['A3', 'A4'] });
        expect(reply.seats?.[0]?.changes.map((c) => c.seatId)).toEqual(['A3', 'A4']);
        // Row A is now 2 | taken | 2: three seats only fit in row B, where B2-B4 and B3-B5 would each
        // strand an end seat; B1-B3 and B4-B6 tie, the leftmost wins.
        expect((await store.lock(best('u2', 3))).value.lock.seats).toEqual(['B1', 'B2', 'B3']);
      });

      it('never strands a single seat when another block does not', async () => {
        const store = await open();
        await store.holdSeats(hold('u0', ['A1', 'A2', 'A3']));
        // A4-A6 remain: two of them strand one seat; row B has an orphan-free choice.
        expect((await store.lock(best('u1', 2))).value.lock.seats).toEqual(['B3', 'B4']);
        // Three of them fit exactly, stranding nothing.
        expect((await store.lock(best('u2', 3))).value.lock.seats).toEqual(['A4', 'A5', 'A6']);
      });

      it('NO_ADJACENT_SEATS when enough are free but apart; INSUFFICIENT_TICKETS when too few are free', async () => {
        const store = await open();
        await store.holdSeats(hold('u0', ['X2']));
        await refused(store.lock(best('u1', 2, 'box')), 'NO_ADJACENT_SEATS');
        await refused(store.lock(best('u1', 3, 'box')), 'INSUFFICIENT_TICKETS');
        expect(await counts(store, 'box')).toMatchObject({ lockedTickets: 1 });
      });
    });

    describe('orphan rule', () => {
      it('reject: a hold that strands a single seat is refused naming it, when another choice would not', async () => {
        const store = await open({ seatOrphanRule: 'reject' });
        await refused(store.holdSeats(hold('u1', ['A2', 'A3'])), 'ORPHAN_SEAT', ['A1']);
        await refused(store.holdSeats(hold('u1', ['A2'])), 'ORPHAN_SEAT', ['A1']);
        expect((await statuses(store)).version).toBe(1);
        await store.holdSeats(hold('u1', ['A1', 'A2']));
        // Every choice of two seats of the box strands one: allowed.
        await store.holdSeats(hold('u2', ['X1', 'X2']));
      });

      it('off (the default): the same hold is granted', async () => {
        const store = await open();
        expect((await held(store, hold('u1', ['A2', 'A3']))).seats).toEqual(['A2', 'A3']);
      });
    });

    describe('a venue of many rows', () => {
      // 20 rows of 4 (T1-1 … T20-4): more rows than the Redis scripts read at once.
      const TALL: EventInfo = {
        id: 'hall',
        categories: [{ categoryId: 'tall', totalTickets: 0, seats: { rows: Array.from({ length: 20 }, (_, r) => ({ row: `T${r + 1}`, seats: seatsOf(`T${r + 1}-`, 4) })) } }],
      };
      const rowOf = (r: number) => seatsOf(`T${r}-`, 4);

      it('best available reaches a row past the first ones read; the orphan rule reads the row it is about', async () => {
        const store = await open({ seatOrphanRule: 'reject' }, [TALL]);
        // Rows 1-9 are full, row 10 keeps only its two middle seats free.
        for (let r = 1; r <= 9; r++) await store.holdSeats(hold(`full-${r}`, rowOf(r)));
        await store.holdSeats(hold('ends-10', ['T10-1', 'T10-4']));
        expect((await store.lock(best('u1', 3, 'tall'))).value.lock.seats).toEqual(['T11-1', 'T11-2', 'T11-3']);
        expect((await store.lock(best('u2', 2, 'tall'))).value.lock.seats).toEqual(['T10-2', 'T10-3']);
        // Row 17: the middle two would leave both end seats alone, while T17-1 + T17-2 strand nothing.
        await refused(store.holdSeats(hold('u3', ['T17-2', 'T17-3'])), 'ORPHAN_SEAT', ['T17-1', 'T17-4']);
        expect((await held(store, hold('u3', ['T17-1', 'T17-2']))).seats).toEqual(['T17-1', 'T17-2']);
      });
    });

    describe('versions and races', () => {
      it('the seat version rises by one per changing call and deltas chain fromVersion → version', async () => {
        const store = await open();
        const replies: StoreReply<unknown>[] = [];
        const lock = await store.holdSeats(hold('u1', ['A1']));
        replies.push(lock);
        replies.push(await store.holdSeats(hold('u2', ['A2', 'A3'])));
        replies.push(await store.unlock({ userId: 'u1', target: { lockId: lock.value.lock.lockId } }));
        replies.push(await store.lock(best('u3', 2)));
        const deltas = replies.flatMap((r) => r.seats ?? []);
        expect(deltas.map((d) => [d.fromVersion, d.version])).toEqual([
          [1, 2],
          [2, 3],
          [3, 4],
          [4, 5],
        ]);
        expect((await statuses(store)).version).toBe(5);
      });

      it('concurrent overlapping holds: every seat held at most once, every refusal names exactly the seats taken', async () => {
        const store = await open({}, [
          { id: 'hall', categories: [{ categoryId: 'r', totalTickets: 0, seats: { rows: Array.from({ length: 5 }, (_, r) => ({ row: `R${r}`, seats: seatsOf(`R${r}-`, 10) })) } }] },
        ]);
        const all = Array.from({ length: 5 }, (_, r) => seatsOf(`R${r}-`, 10)).flat();
        const requests = Array.from({ length: 80 }, (_, i) => {
          const start = (i * 7) % (all.length - 4);
          return all.slice(start, start + 1 + (i % 4));
        });
        const outcomes = await Promise.all(
          requests.map((seatIds, i) =>
            store.holdSeats(hold(`buyer-${i}`, seatIds)).then(
              (reply) => ({ seatIds, granted: reply.value.lock.seats ?? [], refused: [] as string[] }),
              (error: unknown) => {
                if (!(error instanceof LockError) || error.code !== 'SEATS_UNAVAILABLE') throw error;
                return { seatIds, granted: [] as string[], refused: error.seatIds ?? [] };
              },
            ),
          ),
        );
        const owner = new Map<string, number>();
        outcomes.forEach((o, i) => o.granted.forEach((seat) => {
          expect(owner.has(seat)).toBe(false);
          owner.set(seat, i);
        }));
        // Seats are only ever taken here, so a seat a refusal names must be held by a granted hold.
        for (const o of outcomes) {
          if (o.granted.length > 0) continue;
          expect(o.refused.length).toBeGreaterThan(0);
          for (const seat of o.refused) {
            expect(o.seatIds).toContain(seat);
            expect(owner.has(seat)).toBe(true);
          }
        }
        const map = await statuses(store);
        expect(notAvailable(map.of).map(([seat]) => seat).sort()).toEqual([...owner.keys()].sort());
        expect((await store.availability('hall', ['r'])).value[0]).toMatchObject({ lockedTickets: owner.size });
      });
    });
  });
}
