import { afterEach, describe, expect, it } from 'vitest';
import {
  LockError,
  type ErrorCode,
  type EventInfo,
  type LockStore,
  type QueueSnapshot,
  type WaitingRoomSettings,
  type WaitingRoomStore,
} from '#lock-domain';

/** A waiting room store and the lock store that reads its admissions, sharing one state. */
export interface RoomFixture {
  rooms: WaitingRoomStore;
  locks: LockStore;
}

const EVENT: EventInfo = { id: 'flash', categories: [{ categoryId: 'A', totalTickets: 100 }, { categoryId: 'B', totalTickets: 1 }] };
const OTHER: EventInfo = { id: 7, categories: [{ categoryId: 1, totalTickets: 10 }] };

/** Fast enough to see admissions within a test, slow enough never to admit by surprise. */
const SETTINGS: WaitingRoomSettings = { admitPerMinute: 600, maxActiveUsers: 100, admissionMs: 60_000 };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function refused(call: Promise<unknown>, code: ErrorCode): Promise<void> {
  const outcome = await call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected ${code}, the call succeeded with ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(LockError);
  expect((outcome.error as LockError).code).toBe(code);
}

/** Spearman's rank correlation of two rankings of the same n items (no ties). */
export function spearman(a: number[], b: number[]): number {
  const n = a.length;
  const rank = (xs: number[]) => {
    const order = xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(n);
    order.forEach(([, i], k) => (r[i] = k + 1));
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (ra[i]! - rb[i]!) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

/**
 * The semantics of the waiting room (CONTRACT §7, docs/waiting-room.md), run against every
 * {@link WaitingRoomStore} with its lock store. `create` answers fresh, empty state. Real time only.
 */
export function waitingRoomContract(name: string, create: () => Promise<RoomFixture>): void {
  describe(`WaitingRoomStore contract: ${name}`, () => {
    const opened: RoomFixture[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map(async ({ rooms, locks }) => Promise.all([rooms.close(), locks.close()])));
    });

    async function open(settings: Partial<WaitingRoomSettings> | null = {}): Promise<RoomFixture> {
      const fixture = await create();
      opened.push(fixture);
      await fixture.locks.defineEvent(EVENT, { replaceTotals: false });
      await fixture.locks.defineEvent(OTHER, { replaceTotals: false });
      if (settings) await fixture.rooms.configure('flash', { ...SETTINGS, ...settings });
      return fixture;
    }

    const lockReq = (userId: string, categoryId = 'A', eventId: string | number = 'flash') => ({
      eventId,
      categoryId,
      userId,
      sessionId: `s-${userId}`,
      hold: { kind: 'quantity' as const, quantity: 1 },
    });

    async function snapshotOf(rooms: WaitingRoomStore, eventKey = 'flash'): Promise<QueueSnapshot> {
      const found = (await rooms.snapshots()).value.find((s) => String(s.eventId) === eventKey);
      if (!found) throw new Error(`no room ${eventKey}`);
      return found;
    }

    it('join gives a place once per user (tabs, reconnections) and counts the queue', async () => {
      const { rooms } = await open();
      const first = (await rooms.join('flash', 'u1')).value;
      expect(first.entry).toEqual({ state: 'waiting', position: 1, ahead: 0 });
      expect(first.snapshot).toMatchObject({ eventId: 'flash', enabled: true, closed: false, servingPosition: 0, queueLength: 1, activeUsers: 0 });
      expect((await rooms.join('flash', 'u1')).value.entry).toEqual({ state: 'waiting', position: 1, ahead: 0 });
      const second = (await rooms.join('flash', 'u2')).value;
      expect(second.entry).toEqual({ state: 'waiting', position: 2, ahead: 1 });
      expect(second.snapshot.queueLength).toBe(2);
      expect((await rooms.join('flash', 'u2')).value.snapshot.queueLength).toBe(2);
    });

    it('QUEUE_NOT_FOUND without a room, QUEUE_CLOSED once switched off; switched off, locks need no admission', async () => {
      const { rooms, locks } = await open();
      await refused(rooms.join(7, 'u1'), 'QUEUE_NOT_FOUND');
      await refused(rooms.leave(7, 'u1'), 'QUEUE_NOT_FOUND');
      await refused(rooms.configure(7, null), 'QUEUE_NOT_FOUND');
      await rooms.join('flash', 'u1');
      await refused(locks.lock(lockReq('u1')), 'ADMISSION_REQUIRED');
      const off = (await rooms.configure('flash', null)).value;
      expect(off).toMatchObject({ enabled: false, closed: true, queueLength: 0 });
      await refused(rooms.join('flash', 'u1'), 'QUEUE_CLOSED');
      expect((await locks.lock(lockReq('u1'))).value.lock.status).toBe('ACTIVE');
      // Idempotent, and on again: an open room with an empty queue.
      expect((await rooms.configure('flash', null)).value.version).toBe(off.version);
      const on = (await rooms.configure('flash', SETTINGS)).value;
      expect(on).toMatchObject({ enabled: true, closed: false, queueLength: 0 });
      expect((await rooms.join('flash', 'u1')).value.entry.state).toBe('waiting');
    });

    it('bad settings are refused and change nothing', async () => {
      const { rooms } = await open();
      await rooms.join('flash', 'u1');
      const before = await snapshotOf(rooms);
      const bad: Array<Partial<WaitingRoomSettings>> = [
        { admitPerMinute: 0 },
        { admitPerMinute: -1 },
        { admitPerMinute: Number.NaN },
        { maxActiveUsers: 0 },
        { maxActiveUsers: 1.5 },
        { admissionMs: 0 },
        { salesStartAt: -5 },
      ];
      for (const change of bad) await refused(rooms.configure('flash', { ...SETTINGS, ...change }), 'VALIDATION_FAILED');
      await refused(rooms.configure('bad id!', SETTINGS), 'VALIDATION_FAILED');
      expect(await snapshotOf(rooms)).toEqual(before);
      expect((await rooms.snapshots()).value).toHaveLength(1);
    });

    it('configuring again with the same settings changes nothing; new settings raise the version', async () => {
      const { rooms } = await open();
      const first = await snapshotOf(rooms);
      expect((await rooms.configure('flash', SETTINGS)).value.version).toBe(first.version);
      const changed = (await rooms.configure('flash', { ...SETTINGS, admitPerMinute: 30 })).value;
      expect(changed.version).toBeGreaterThan(first.version);
      expect(changed.admitPerMinute).toBe(30);
    });

    it('lock-tickets needs a running admission on an event with a room, only there', async () => {
      const { rooms, locks } = await open({ admitPerMinute: 6000 });
      await refused(locks.lock(lockReq('u1')), 'ADMISSION_REQUIRED');
      expect((await locks.lock(lockReq('u1', '1', 7))).value.lock.status).toBe('ACTIVE');
      await rooms.join('flash', 'u1');
      await refused(locks.lock(lockReq('u1')), 'ADMISSION_REQUIRED');
      await sleep(50);
      const tick = (await rooms.admit('flash', { abandonMs: 60_000 })).value;
      expect(tick.admitted.map((a) => a.userId)).toEqual(['u1']);
      expect((await locks.lock(lockReq('u1'))).value.lock.status).toBe('ACTIVE');
      // A refusal changed nothing.
      expect((await locks.availability('flash', ['A'])).value[0]?.lockedTickets).toBe(1);
    });

    it('admits in order, at the pace, with fractions carried over', async () => {
      const started = Date.now();
      const { rooms } = await open({ admitPerMinute: 600 }); // 10 per second
      for (let i = 1; i <= 20; i++) await rooms.join('flash', `u${i}`);
      const admitted: string[] = [];
      for (let i = 0; i < 5; i++) {
        await sleep(110);
        admitted.push(...(await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted.map((a) => a.userId));
      }
      const elapsed = (Date.now() - started) / 1000;
      expect(admitted).toEqual(Array.from({ length: admitted.length }, (_, i) => `u${i + 1}`));
      // 10/s since the room was configured, never more (credit starts at 0).
      expect(admitted.length).toBeLessThanOrEqual(Math.floor(10 * elapsed));
      expect(admitted.length).toBeGreaterThanOrEqual(3);
      const snap = await snapshotOf(rooms);
      expect(snap).toMatchObject({ servingPosition: admitted.length, activeUsers: admitted.length, admittedTotal: admitted.length, queueLength: 20 - admitted.length });
    });

    it('two ticks at once admit no more than one would', async () => {
      const started = Date.now();
      const { rooms } = await open({ admitPerMinute: 600 });
      for (let i = 1; i <= 30; i++) await rooms.join('flash', `u${i}`);
      await sleep(300);
      const elapsed = (Date.now() - started) / 1000;
      const ticks = await Promise.all([0, 1, 2, 3].map(() => rooms.admit('flash', { abandonMs: 60_000 })));
      const admitted = ticks.flatMap((t) => t.value.admitted.map((a) => a.userId));
      expect(new Set(admitted).size).toBe(admitted.length);
      // 10/s since the room was configured: the ticks share one credit, they do not each spend it.
      expect(admitted.length).toBeLessThanOrEqual(Math.floor(10 * elapsed));
      expect(admitted.length).toBeGreaterThanOrEqual(1);
    });

    it('never more than maxActiveUsers active; a leave frees the slot at the next tick', async () => {
      const { rooms } = await open({ admitPerMinute: 60_000, maxActiveUsers: 2 });
      for (let i = 1; i <= 5; i++) await rooms.join('flash', `u${i}`);
      await sleep(100);
      expect((await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted.map((a) => a.userId)).toEqual(['u1', 'u2']);
      await sleep(50);
      expect((await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted).toEqual([]);
      expect((await snapshotOf(rooms)).activeUsers).toBe(2);
      const left = (await rooms.leave('flash', 'u1')).value;
      expect(left.left).toBe(true);
      expect(left.snapshot.activeUsers).toBe(1);
      expect((await rooms.admission('flash', 'u1')).value).toBeNull();
      await sleep(50);
      expect((await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted.map((a) => a.userId)).toEqual(['u3']);
      expect((await snapshotOf(rooms)).activeUsers).toBe(2);
      // Leaving twice is harmless.
      expect((await rooms.leave('flash', 'u1')).value.left).toBe(false);
    });

    it('an admission ends at its end to the millisecond and frees the slot', async () => {
      const { rooms, locks } = await open({ admitPerMinute: 60_000, maxActiveUsers: 1, admissionMs: 300 });
      await rooms.join('flash', 'u1');
      await rooms.join('flash', 'u2');
      await sleep(50);
      const [admission] = (await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted;
      expect(admission?.expiresAt).toBe(admission!.admittedAt + 300);
      expect((await rooms.join('flash', 'u1')).value.entry).toEqual({ state: 'admitted', admittedAt: admission!.admittedAt, admissionExpiresAt: admission!.expiresAt });
      expect((await rooms.admission('flash', 'u1')).value).toEqual(admission);
      await sleep(Math.max(0, admission!.expiresAt - Date.now()) + 40);
      // Ended for every reader before any tick ran.
      expect((await rooms.admission('flash', 'u1')).value).toBeNull();
      expect((await snapshotOf(rooms)).activeUsers).toBe(0);
      await refused(locks.lock(lockReq('u1')), 'ADMISSION_REQUIRED');
      expect((await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted.map((a) => a.userId)).toEqual(['u2']);
      // An ended admission leaves no place behind: joining again queues at the back.
      expect((await rooms.join('flash', 'u1')).value.entry).toMatchObject({ state: 'waiting', position: 3 });
    });

    it("confirming the user's lock for the event ends the admission and frees the slot", async () => {
      const { rooms, locks } = await open({ admitPerMinute: 60_000, maxActiveUsers: 1 });
      await rooms.join('flash', 'u1');
      await rooms.join('flash', 'u2');
      await sleep(50);
      await rooms.admit('flash', { abandonMs: 60_000 });
      const { lock } = (await locks.lock(lockReq('u1'))).value;
      expect((await snapshotOf(rooms)).activeUsers).toBe(1);
      await locks.confirm(lock.lockId, 'order-1');
      expect((await rooms.admission('flash', 'u1')).value).toBeNull();
      expect((await snapshotOf(rooms)).activeUsers).toBe(0);
      expect((await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted.map((a) => a.userId)).toEqual(['u2']);
      // A lock on another event does not touch this room's admissions.
      const other = (await locks.lock(lockReq('u2', '1', 7))).value.lock;
      await locks.confirm(other.lockId);
      expect((await rooms.admission('flash', 'u2')).value).not.toBeNull();
    });

    it('users away for abandonMs are skipped and removed when their turn comes; seen() keeps a user', async () => {
      const { rooms } = await open({ admitPerMinute: 60_000 });
      await rooms.join('flash', 'gone');
      await rooms.join('flash', 'kept');
      await sleep(200);
      await rooms.join('flash', 'fresh');
      await rooms.seen('flash', ['kept', 'never-joined']);
      const tick = (await rooms.admit('flash', { abandonMs: 150 })).value;
      expect(tick.abandoned).toEqual(['gone']);
      expect(tick.admitted.map((a) => a.userId)).toEqual(['kept', 'fresh']);
      expect(tick.snapshot).toMatchObject({ servingPosition: 3, queueLength: 0, activeUsers: 2, admittedTotal: 2 });
      expect((await rooms.join('flash', 'gone')).value.entry).toMatchObject({ state: 'waiting', position: 4 });
      // seen() never adds anyone to the room.
      expect((await snapshotOf(rooms)).queueLength).toBe(1);
    });

    it('early joiners get no place, then a uniformly random order at salesStartAt; later joiners queue in arrival order', async () => {
      const startsAt = Date.now() + 1500;
      const { rooms } = await open({ admitPerMinute: 6, salesStartAt: startsAt });
      const n = 200;
      const users = Array.from({ length: n }, (_, i) => `early-${i}`);
      for (const user of users) {
        const joined = (await rooms.join('flash', user)).value;
        expect(joined.entry).toEqual({ state: 'waiting' });
        expect(joined.snapshot.salesStartAt).toBe(startsAt);
      }
      expect((await snapshotOf(rooms)).queueLength).toBe(n);
      // Nobody is admitted before the start.
      expect((await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted).toEqual([]);
      await sleep(Math.max(0, startsAt - Date.now()) + 30);
      const late = ['late-1', 'late-2', 'late-3'];
      const latePlaces: number[] = [];
      for (const user of late) latePlaces.push((await rooms.join('flash', user)).value.entry.position!);
      const places: number[] = [];
      for (const user of users) places.push((await rooms.join('flash', user)).value.entry.position!);
      // A permutation of 1..n, ahead of every later joiner, who queue in arrival order.
      expect([...places].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(latePlaces).toEqual([n + 1, n + 2, n + 3]);
      // Join order vs. place: for a uniformly random order, ρ has mean 0 and sd 1/√(n−1) ≈ 0.071.
      // |ρ| ≥ 0.35 is 4.9 sd: a fair shuffle fails this with probability < 1e-6, while join order
      // (ρ = 1), reverse order or any mostly-ordered placement cannot pass.
      const rho = spearman(users.map((_, i) => i), places);
      expect(Math.abs(rho)).toBeLessThan(0.35);
      // Places do not move when settings change afterwards.
      await rooms.configure('flash', { ...SETTINGS, admitPerMinute: 6, salesStartAt: Date.now() + 60_000 });
      expect((await snapshotOf(rooms)).salesStartAt).toBe(startsAt);
      expect((await rooms.join('flash', users[0]!)).value.entry.position).toBe(places[0]);
    });

    it('after salesStartAt, admission follows the drawn places: no later joiner passes an early one', async () => {
      const startsAt = Date.now() + 400;
      const { rooms } = await open({ admitPerMinute: 60_000, maxActiveUsers: 1000, salesStartAt: startsAt });
      const early = Array.from({ length: 30 }, (_, i) => `e${i}`);
      for (const user of early) await rooms.join('flash', user);
      await sleep(Math.max(0, startsAt - Date.now()) + 30);
      const late = (await rooms.join('flash', 'late')).value.entry;
      expect(late.position).toBe(31);
      expect(late.ahead).toBe(30);
      const places = new Map<string, number>();
      for (const user of early) places.set(user, (await rooms.join('flash', user)).value.entry.position!);
      places.set('late', 31);
      const order: string[] = [];
      for (let tick = 0; tick < 40 && order.length < 31; tick++) {
        await sleep(25);
        order.push(...(await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted.map((a) => a.userId));
      }
      expect(order.map((u) => places.get(u))).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    });

    it('closes when the event is sold out: waiting users dropped, joins refused QUEUE_CLOSED', async () => {
      const { rooms, locks } = await open({ admitPerMinute: 60_000 });
      await locks.setCategoryTotal('flash', 'A', 0);
      await rooms.join('flash', 'buyer');
      await rooms.join('flash', 'waiter');
      await sleep(20);
      await rooms.configure('flash', { ...SETTINGS, admitPerMinute: 60_000, maxActiveUsers: 1 });
      expect((await rooms.admit('flash', { abandonMs: 60_000 })).value.admitted.map((a) => a.userId)).toEqual(['buyer']);
      const { lock } = (await locks.lock(lockReq('buyer', 'B'))).value;
      await locks.confirm(lock.lockId);
      const tick = (await rooms.admit('flash', { abandonMs: 60_000 })).value;
      expect(tick.closedNow).toBe(true);
      expect(tick.snapshot).toMatchObject({ closed: true, queueLength: 0 });
      await refused(rooms.join('flash', 'waiter'), 'QUEUE_CLOSED');
      // Ticking a closed room again changes nothing.
      expect((await rooms.admit('flash', { abandonMs: 60_000 })).value.closedNow).toBe(false);
    });

    it('one admitter lease: taken, renewed by its holder, refused to others until it lapses or is released', async () => {
      const { rooms } = await open(null);
      expect(await rooms.lease('a', 300)).toBe(true);
      expect(await rooms.lease('b', 300)).toBe(false);
      expect(await rooms.lease('a', 300)).toBe(true);
      await sleep(350);
      expect(await rooms.lease('b', 300)).toBe(true);
      expect(await rooms.lease('a', 300)).toBe(false);
      await rooms.releaseLease('a');
      expect(await rooms.lease('a', 300)).toBe(false);
      await rooms.releaseLease('b');
      expect(await rooms.lease('a', 300)).toBe(true);
    });

    it('ids: 7 and "7" name one room, and snapshots carry the catalog\'s form', async () => {
      const { rooms } = await open(null);
      // Event 7 is numeric in the lock store: the room takes that form whatever the configuring message said.
      expect((await rooms.configure('7', SETTINGS)).value.eventId).toBe(7);
      expect((await rooms.configure('unknown-yet', SETTINGS)).value.eventId).toBe('unknown-yet');
      expect((await rooms.join('7', 'u1')).value.snapshot.eventId).toBe(7);
      expect((await rooms.join(7, 'u1')).value.entry.position).toBe(1);
      await refused(rooms.join('7', ''), 'VALIDATION_FAILED');
    });
  });
}
