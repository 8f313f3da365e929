import { firstValueFrom } from 'rxjs';
import type { Availability, Lock, SeatMap, SeatStatus } from '#lock-domain';
import type { Failure, LockCommandReply, LockNotification, SeatUpdate } from '#contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { dropKeys, getJson, startApp, useApp, type TestApp } from './support/app.js';
import { closeAll, collect, connect, next, ok, request, sleep, type TestSocket } from './support/clients.js';
import { eventually } from './support/rmq-broker.js';
import { useRmqApp } from './support/rmq-app.js';
import { uniqueName } from './support/services.js';

const seatsOf = (row: string, n: number) => Array.from({ length: n }, (_, i) => `${row}${i + 1}`);
const ROWS = 'ABCDEFGHIJ'.split('');

/** A small hall of 100 seats (10 × 10), a box of 6 with one blocked seat, and general admission. */
const SEAT_CATALOG = {
  events: [
    {
      id: 'cinema',
      name: 'Small hall',
      categories: [
        { categoryId: 'hall', name: 'Hall', seats: { rows: ROWS.map((row) => ({ row, seats: seatsOf(row, 10) })) } },
        { categoryId: 'box', seats: { rows: [{ row: 'X', seats: seatsOf('X', 6) }], blocked: ['X6'] } },
        { categoryId: 'ga', totalTickets: 10 },
      ],
    },
    { id: 1, categories: [{ categoryId: 1, totalTickets: 10 }] },
  ],
};

function statusesOf(map: SeatMap): Record<string, SeatStatus> {
  const out: Record<string, SeatStatus> = {};
  for (const category of map.categories) for (const row of category.rows) for (const seat of row.seats) out[seat.seatId] = seat.status;
  return out;
}
const taken = (map: SeatMap) =>
  Object.entries(statusesOf(map))
    .filter(([, status]) => status === 'held' || status === 'sold')
    .map(([seat, status]) => `${seat}:${status}`)
    .sort();

function failure(answer: { success: boolean }): Failure {
  expect(answer.success).toBe(false);
  return answer as Failure;
}

async function seatMap(socket: TestSocket, eventId: string | number = 'cinema'): Promise<SeatMap> {
  return ok(await request(socket, 'get-seat-map', { eventId }));
}

describe('reserved seating over the socket', () => {
  const app = useApp({ catalog: SEAT_CATALOG, env: { RATE_LIMIT_PER_MINUTE: '0' } });

  it('GET /events marks reserved categories; GET /events/:id/seats is the seat-map-response body; 404 for an unknown event', async () => {
    const events = await getJson<Array<{ id: unknown; categories: Array<{ categoryId: unknown; reserved?: boolean; totalTickets: number }> }>>(app, '/events');
    const cinema = events.body.find((e) => e.id === 'cinema');
    expect(cinema?.categories).toMatchObject([
      { categoryId: 'hall', reserved: true, totalTickets: 100 },
      { categoryId: 'box', reserved: true, totalTickets: 5 },
      { categoryId: 'ga', totalTickets: 10 },
    ]);
    expect(cinema?.categories[2]?.reserved).toBeUndefined();
    const { status, body } = await getJson<SeatMap & { success: boolean }>(app, '/events/cinema/seats');
    expect(status).toBe(200);
    const { socket } = await connect(app.socketUrl, { userId: 'http-reader' });
    expect(body).toEqual({ success: true, ...(await seatMap(socket)) });
    expect(body.categories.map((c) => c.categoryId)).toEqual(['hall', 'box']);
    expect(body.categories[1]?.rows[0]?.seats.at(-1)).toEqual({ seatId: 'X6', status: 'blocked' });
    expect((await getJson(app, '/events/nope/seats')).status).toBe(404);
    expect(failure(await request(socket, 'get-seat-map', { eventId: 'nope' })).code).toBe('EVENT_NOT_FOUND');
  });

  it('hold-seats answers the Lock; the room gets seat-update (from the map version) and availability-update; all or nothing', async () => {
    const { socket: watcher } = await connect(app.socketUrl, { userId: 'watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 'cinema' }));
    const before = await seatMap(watcher);
    const update = next<SeatUpdate>(watcher, 'seat-update');
    const counts = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 'hall');
    const { socket: buyer } = await connect(app.socketUrl, { userId: 'buyer-1' });
    const lock = ok(await request(buyer, 'hold-seats', { eventId: 'cinema', seatIds: ['C4', 'C5'] }));
    expect(lock).toMatchObject({ success: true, eventId: 'cinema', categoryId: 'hall', quantity: 2, seats: ['C4', 'C5'], status: 'ACTIVE', userId: 'buyer-1' });
    expect(await update).toEqual({
      eventId: 'cinema',
      fromVersion: before.version,
      version: before.version + 1,
      changes: [
        { seatId: 'C4', categoryId: 'hall', status: 'held' },
        { seatId: 'C5', categoryId: 'hall', status: 'held' },
      ],
      timestamp: expect.any(String) as unknown,
    });
    expect(await counts).toMatchObject({ totalTickets: 100, lockedTickets: 2, availableTickets: 98 });

    // One taken seat: nothing is held, and the refusal names exactly the taken seats.
    const { socket: rival } = await connect(app.socketUrl, { userId: 'rival-1' });
    const mapBefore = await seatMap(rival);
    const refusal = failure(await request(rival, 'hold-seats', { eventId: 'cinema', seatIds: ['C3', 'C4', 'C5', 'C6'] }));
    expect(refusal).toMatchObject({ code: 'SEATS_UNAVAILABLE' });
    expect(refusal.seatIds?.sort()).toEqual(['C4', 'C5']);
    expect(failure(await request(rival, 'hold-seats', { eventId: 'cinema', seatIds: ['C3', 'Z1', 'Z2'] }))).toMatchObject({ code: 'SEAT_NOT_FOUND', seatIds: ['Z1', 'Z2'] });
    expect(failure(await request(rival, 'hold-seats', { eventId: 'cinema', seatIds: ['C3', 'X1'] })).code).toBe('VALIDATION_FAILED');
    expect(failure(await request(rival, 'hold-seats', { eventId: 'cinema', seatIds: ['X6'] }))).toMatchObject({ code: 'SEATS_UNAVAILABLE', seatIds: ['X6'] });
    expect(await seatMap(rival)).toEqual(mapBefore);
    expect(ok(await request(rival, 'get-my-locks')).locks).toEqual([]);
    ok(await request(buyer, 'unlock-tickets', { lockId: lock.lockId }));
  });

  it('adds seats to a lock (expiresAt unchanged), unlocks some by seatIds, then the rest; the owner hears about the release', async () => {
    const { socket: tab } = await connect(app.socketUrl, { userId: 'adder' });
    const { socket: otherTab } = await connect(app.socketUrl, { userId: 'adder' });
    const released = next<LockNotification>(otherTab, 'lock-released');
    const lock = ok(await request(tab, 'hold-seats', { eventId: 'cinema', seatIds: ['D1', 'D2'] }));
    expect(failure(await request(tab, 'hold-seats', { eventId: 'cinema', seatIds: ['D5'] })).code).toBe('DUPLICATE_LOCK');
    const grown = ok(await request(tab, 'hold-seats', { eventId: 'cinema', seatIds: ['D3'], lockId: lock.lockId }));
    expect(grown).toMatchObject({ lockId: lock.lockId, quantity: 3, seats: ['D1', 'D2', 'D3'], expiresAt: lock.expiresAt });
    const partial = ok(await request(tab, 'unlock-tickets', { lockId: lock.lockId, seatIds: ['D2'] }));
    expect(partial).toMatchObject({ lockId: lock.lockId, releasedQuantity: 1, remainingQuantity: 2, status: 'ACTIVE' });
    expect(taken(await seatMap(tab)).filter((s) => s.startsWith('D'))).toEqual(['D1:held', 'D3:held']);
    expect(failure(await request(tab, 'unlock-tickets', { lockId: lock.lockId, quantity: 1 })).code).toBe('VALIDATION_FAILED');
    expect(failure(await request(tab, 'unlock-tickets', { lockId: lock.lockId, seatIds: ['D9'] }))).toMatchObject({ code: 'VALIDATION_FAILED', seatIds: ['D9'] });
    const rest = ok(await request(tab, 'unlock-tickets', { lockId: lock.lockId, seatIds: ['D1', 'D3'] }));
    expect(rest).toMatchObject({ releasedQuantity: 2, remainingQuantity: 0, status: 'RELEASED' });
    expect(await released).toMatchObject({ lockId: lock.lockId, status: 'RELEASED', quantity: 2, seats: ['D1', 'D3'] });
    expect(taken(await seatMap(tab)).filter((s) => s.startsWith('D'))).toEqual([]);
  });

  it('best available through lock-tickets: adjacent, centre-most in the best row, orphan-free; the answer lists the seats', async () => {
    const { socket: blocker } = await connect(app.socketUrl, { userId: 'blocker' });
    // Row A: seats 1-3 taken. The pair at the centre (A5-A6) would leave A4 alone; A4-A5 and A6-A7
    // are next nearest and tie: the leftmost wins.
    const held = ok(await request(blocker, 'hold-seats', { eventId: 'cinema', seatIds: ['A1', 'A2', 'A3'] }));
    const { socket: buyer } = await connect(app.socketUrl, { userId: 'best-1' });
    const answer = ok(await request(buyer, 'lock-tickets', { eventId: 'cinema', categoryId: 'hall', quantity: 2 }));
    expect(answer).toMatchObject({ categoryId: 'hall', quantity: 2, status: 'ACTIVE', seats: ['A4', 'A5'] });
    const { socket: boxer } = await connect(app.socketUrl, { userId: 'best-2' });
    ok(await request(boxer, 'hold-seats', { eventId: 'cinema', seatIds: ['X3'] }));
    const { socket: late } = await connect(app.socketUrl, { userId: 'best-3' });
    expect(failure(await request(late, 'lock-tickets', { eventId: 'cinema', categoryId: 'box', quantity: 3 })).code).toBe('NO_ADJACENT_SEATS');
    expect(failure(await request(late, 'lock-tickets', { eventId: 'cinema', categoryId: 'box', quantity: 5 })).code).toBe('INSUFFICIENT_TICKETS');
    ok(await request(blocker, 'unlock-tickets', { lockId: held.lockId }));
    ok(await request(buyer, 'unlock-tickets', { lockId: answer.lockId }));
  });

  it('confirm over the service sells the seats; a sold seat is refused to everyone', async () => {
    const { socket: owner } = await connect(app.socketUrl, { userId: 'payer' });
    const lock = ok(await request(owner, 'hold-seats', { eventId: 'cinema', seatIds: ['J9', 'J10'] }));
    const confirmed = await app.app.get(LockService).confirm(lock.lockId, 'order-seats-1');
    expect(confirmed).toMatchObject({ status: 'CONFIRMED', seats: ['J9', 'J10'], orderId: 'order-seats-1' });
    expect(taken(await seatMap(owner)).filter((s) => s.startsWith('J'))).toEqual(['J10:sold', 'J9:sold']);
    const { socket: other } = await connect(app.socketUrl, { userId: 'payer-2' });
    expect(failure(await request(other, 'hold-seats', { eventId: 'cinema', seatIds: ['J8', 'J9'] }))).toMatchObject({ code: 'SEATS_UNAVAILABLE', seatIds: ['J9'] });
  });
});

describe('reserved seating with 3 s locks', () => {
  const app = useApp({ catalog: SEAT_CATALOG, env: { RATE_LIMIT_PER_MINUTE: '0', LOCK_DURATION_MINUTES: '0.05', CLEANUP_INTERVAL_MINUTES: '10' } });

  it('exact expiry: a held seat reads available from expiresAt, before any sweep, and another buyer can hold it', async () => {
    const { socket: owner } = await connect(app.socketUrl, { userId: 'expiring' });
    const lock = ok(await request(owner, 'hold-seats', { eventId: 'cinema', seatIds: ['E5', 'E6'] }));
    const expiresAt = Date.parse(lock.expiresAt);
    await sleep(Math.max(0, expiresAt - Date.now() - 400));
    expect(statusesOf(await seatMap(owner)).E5).toBe('held');
    await sleep(Math.max(0, expiresAt - Date.now() + 30));
    const map = (await getJson<SeatMap>(app, '/events/cinema/seats')).body;
    expect(statusesOf(map).E5).toBe('available');
    const { socket: next2 } = await connect(app.socketUrl, { userId: 'after-expiry' });
    expect(ok(await request(next2, 'hold-seats', { eventId: 'cinema', seatIds: ['E6', 'E7'] })).seats).toEqual(['E6', 'E7']);
  });

  it('late confirm: LOCK_EXPIRED and nothing sold when one seat was re-taken; the same seats are bought back when all are free', async () => {
    const service = app.app.get(LockService);
    const { socket: slow } = await connect(app.socketUrl, { userId: 'slow-payer' });
    const { socket: lucky } = await connect(app.socketUrl, { userId: 'lucky-payer' });
    const unlucky = ok(await request(slow, 'hold-seats', { eventId: 'cinema', seatIds: ['F1', 'F2'] }));
    const fine = ok(await request(lucky, 'hold-seats', { eventId: 'cinema', seatIds: ['G1', 'G2'] }));
    await sleep(Math.max(0, Date.parse(unlucky.expiresAt) - Date.now() + 50));
    const { socket: thief } = await connect(app.socketUrl, { userId: 'thief' });
    ok(await request(thief, 'hold-seats', { eventId: 'cinema', seatIds: ['F2', 'F3'] }));
    await expect(service.confirm(unlucky.lockId, 'o-late-1')).rejects.toMatchObject({ code: 'LOCK_EXPIRED' });
    const map = await seatMap(thief);
    expect(taken(map).filter((s) => s.startsWith('F'))).toEqual(['F2:held', 'F3:held']);
    expect(await service.confirm(fine.lockId, 'o-late-2')).toMatchObject({ status: 'CONFIRMED', seats: ['G1', 'G2'] });
    expect(taken(await seatMap(thief)).filter((s) => s.startsWith('G'))).toEqual(['G1:sold', 'G2:sold']);
  });
});

describe('reserved seating: the orphan rule', () => {
  const strict = useApp({ catalog: SEAT_CATALOG, env: { RATE_LIMIT_PER_MINUTE: '0', SEAT_ORPHAN_RULE: 'reject' } });

  it('reject: a hold stranding a single seat is refused with ORPHAN_SEAT naming it; off: granted', async () => {
    const { socket } = await connect(strict.socketUrl, { userId: 'orphan-maker' });
    expect(failure(await request(socket, 'hold-seats', { eventId: 'cinema', seatIds: ['B2', 'B3'] }))).toMatchObject({ code: 'ORPHAN_SEAT', seatIds: ['B1'] });
    expect(taken(await seatMap(socket))).toEqual([]);
    ok(await request(socket, 'hold-seats', { eventId: 'cinema', seatIds: ['B1', 'B2'] }));

    const relaxed = await startApp({ catalog: SEAT_CATALOG, env: { RATE_LIMIT_PER_MINUTE: '0' } });
    try {
      const { socket: other } = await connect(relaxed.socketUrl, { userId: 'orphan-maker' });
      expect(ok(await request(other, 'hold-seats', { eventId: 'cinema', seatIds: ['B2', 'B3'] })).seats).toEqual(['B2', 'B3']);
    } finally {
      closeAll();
      await relaxed.close();
      await dropKeys(relaxed.config.redisKeyPrefix);
    }
  });
});

describe('reserved seating on two instances', () => {
  const prefix = uniqueName('e2e-seats');
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    // A long grace: the first test's buyers disconnect, and their seats must not be released during the race.
    const env = { REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '0', DISCONNECT_GRACE_SECONDS: '600' };
    [a, b] = [await startApp({ catalog: SEAT_CATALOG, env }), await startApp({ catalog: SEAT_CATALOG, env })];
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropKeys(prefix);
  });

  it('seat-update versions are contiguous for a watcher while 20 holds happen over two instances', async () => {
    const { socket: watcher } = await connect(a.socketUrl, { userId: 'seat-watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 'cinema' }));
    const updates = collect<SeatUpdate>(watcher, 'seat-update');
    const start = await seatMap(watcher);
    const buyers = await Promise.all(Array.from({ length: 20 }, (_, i) => connect((i % 2 === 0 ? a : b).socketUrl, { userId: `v-${i}` })));
    const answers = await Promise.all(
      buyers.map(({ socket }, i) => request(socket, 'hold-seats', { eventId: 'cinema', seatIds: [`H${(i % 10) + 1}`, `I${(i % 10) + 1}`].slice(0, 1 + (i >= 10 ? 1 : 0)) })),
    );
    const granted = answers.filter((x) => x.success).length;
    const end = await seatMap(watcher);
    await sleep(400);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates[0]?.fromVersion).toBe(start.version);
    for (let i = 1; i < updates.length; i++) expect(updates[i]?.fromVersion).toBe(updates[i - 1]?.version);
    expect(updates.at(-1)?.version).toBe(end.version);
    expect(end.version - start.version).toBe(granted);
    // Applying the updates to the start map gives the end map.
    const applied = statusesOf(start);
    for (const update of updates) for (const change of update.changes) applied[change.seatId] = change.status;
    expect(applied).toEqual(statusesOf(end));
  });

  it('200 clients on two instances race for the 100 seats: every seat held at most once, every refusal names exactly the seats taken', async () => {
    const all = ROWS.flatMap((row) => seatsOf(row, 10));
    const service = a.app.get(LockService);
    // Seats the test before still holds stay held.
    const before = (await service.seatMap('cinema')).categories[0]?.rows.flatMap((r) => r.seats).filter((s) => s.status !== 'available').map((s) => s.seatId) ?? [];
    const clients = await Promise.all(Array.from({ length: 200 }, (_, i) => connect((i % 2 === 0 ? a : b).socketUrl, { userId: `racer-${i}` })));
    const wants = clients.map((_, i) => {
      const size = 1 + (i % 4);
      const start = (i * 37) % (all.length - size + 1);
      return all.slice(start, start + size);
    });
    const answers = await Promise.all(clients.map(({ socket }, i) => request(socket, 'hold-seats', { eventId: 'cinema', seatIds: wants[i] })));
    const owner = new Map<string, number>();
    answers.forEach((answer, i) => {
      if (!answer.success) return;
      expect(answer.seats?.sort()).toEqual([...(wants[i] as string[])].sort());
      for (const seat of answer.seats ?? []) {
        expect(owner.has(seat), `seat ${seat} held twice`).toBe(false);
        owner.set(seat, i);
      }
    });
    answers.forEach((answer, i) => {
      if (answer.success) return;
      expect(answer.code).toBe('SEATS_UNAVAILABLE');
      // Seats are only taken during the race: a named seat is held by a winner (or was before), an
      // unnamed one of the same request was free at that instant.
      const named = answer.seatIds ?? [];
      expect(named.length).toBeGreaterThan(0);
      for (const seat of named) {
        expect(wants[i]).toContain(seat);
        expect(owner.has(seat) || before.includes(seat)).toBe(true);
      }
    });
    const map = await service.seatMap('cinema');
    const heldNow = map.categories[0]?.rows.flatMap((r) => r.seats).filter((s) => s.status === 'held').map((s) => s.seatId).sort();
    expect(heldNow).toEqual([...new Set([...owner.keys(), ...before])].sort());
    const counts = (await service.eventAvailability('cinema')).find((c) => c.categoryId === 'hall');
    expect(counts).toMatchObject({ lockedTickets: heldNow?.length, availableTickets: 100 - (heldNow?.length ?? 0) });
  });
});

describe('reserved seating over RabbitMQ', () => {
  const t = useRmqApp('rmq-seats', { orders: true, lifecycle: true, catalog: SEAT_CATALOG, env: { RATE_LIMIT_PER_MINUTE: '0' } });
  const send = <T>(pattern: string, data: unknown): Promise<T> => firstValueFrom(t.orders.client.send<T>(pattern, data));

  it('confirm, release and get of seat locks keep their shape; the owner and the lifecycle events carry seats', async () => {
    const { socket } = await connect(t.app.socketUrl, { userId: 'rmq-seat-buyer' });
    const confirmed = next<LockNotification>(socket, 'lock-confirmed');
    const sold = ok(await request(socket, 'hold-seats', { eventId: 'cinema', seatIds: ['B7', 'B8'] }));
    const freed = ok(await request(socket, 'hold-seats', { eventId: 'cinema', seatIds: ['X1'] }));
    expect(await send<LockCommandReply>('confirm-ticket-lock', { lockId: sold.lockId, orderId: 'o-seats' })).toEqual({ success: true, lockId: sold.lockId, status: 'CONFIRMED' });
    expect(await send<LockCommandReply>('release-ticket-lock', { lockId: freed.lockId })).toEqual({ success: true, lockId: freed.lockId, status: 'RELEASED' });
    expect(await send<Lock>('get-ticket-lock', { lockId: sold.lockId })).toMatchObject({ status: 'CONFIRMED', quantity: 2, seats: ['B7', 'B8'] });
    // The socket that asked for the hold is not the one that confirmed it: it hears about it.
    expect(await confirmed).toMatchObject({ lockId: sold.lockId, status: 'CONFIRMED', seats: ['B7', 'B8'] });
    const of = (lockId: string) => t.lifecycle.filter((event) => event.body.data.lockId === lockId);
    await eventually(() => of(sold.lockId).length === 2 && of(freed.lockId).length === 2, 'the lifecycle events of both seat locks');
    expect(of(sold.lockId).map((event) => [event.routingKey, event.body.data.seats])).toEqual([
      ['ticket-lock.created', ['B7', 'B8']],
      ['ticket-lock.confirmed', ['B7', 'B8']],
    ]);
    expect(of(freed.lockId).map((event) => event.routingKey)).toEqual(['ticket-lock.created', 'ticket-lock.released']);
    expect(taken(await seatMap(socket)).filter((s) => s.startsWith('B') || s.startsWith('X'))).toEqual(['B7:sold', 'B8:sold']);
  });
});
