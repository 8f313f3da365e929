import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { JoinQueueResult, QueueAdmitted, QueueUpdate } from '#contracts';
import type { WaitingRoomSettings } from '#lock-domain';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { QueueAdmitter } from '../apps/realtime/src/waiting-room/queue-admitter.js';
import { WaitingRoomService } from '../apps/realtime/src/waiting-room/waiting-room.service.js';
import type { StatsResponse } from '../apps/realtime/src/http/http-types.js';
import { getJson, useApp, type TestApp } from './support/app.js';
import { collect, connect, next, ok, request, sleep, type TestSocket } from './support/clients.js';
import { anyNumber, anyString } from './support/matchers.js';

const ADMISSION_TOKEN_SECRET = 'admission-secret-for-e2e-0123456789';

const category = (id: string) => ({ id, categories: [{ categoryId: 'ga', totalTickets: 1000 }, { categoryId: 'one', totalTickets: 1 }] });

/** `flash` has its room from the catalog file; the other events get theirs from the tests. */
const CATALOG = {
  events: [
    { ...category('flash'), waitingRoom: { admitPerMinute: 6000, maxActiveUsers: 100, admissionMinutes: 10 } },
    { id: 'open', categories: [{ categoryId: 'ga', totalTickets: 10 }] },
    ...['pace', 'cap', 'abandon', 'expiry', 'confirm', 'race', 'early', 'off'].map(category),
  ],
};

const FAST: WaitingRoomSettings = { admitPerMinute: 6000, maxActiveUsers: 100, admissionMs: 600_000 };

function admittedTo(socket: TestSocket, eventId: string): Promise<QueueAdmitted> {
  return next<QueueAdmitted>(socket, 'queue-admitted', (p) => p.eventId === eventId);
}

async function configure(app: TestApp, eventId: string, settings: Partial<WaitingRoomSettings> | null): Promise<void> {
  await app.app.get(WaitingRoomService).configure(eventId, settings && { ...FAST, ...settings });
}

async function roomStats(app: TestApp, eventId: string) {
  const { body } = await getJson<StatsResponse>(app, '/stats');
  return body.waitingRooms.find((r) => r.eventId === eventId);
}

async function join(socket: TestSocket, eventId: string): Promise<JoinQueueResult> {
  return ok(await request(socket, 'join-queue', { eventId }));
}

describe('waiting room (CONTRACT §7)', () => {
  const app = useApp({
    catalog: CATALOG,
    env: { ADMISSION_TOKEN_SECRET, QUEUE_ABANDON_SECONDS: '1', RATE_LIMIT_PER_MINUTE: '0' },
  });

  it('join-queue: one place per user across tabs and reconnections; admission with a signed token; only then lock-tickets', async () => {
    const { socket: tab1 } = await connect(app.socketUrl, { userId: 'wr-alice' });
    const refused = await request(tab1, 'lock-tickets', { eventId: 'flash', categoryId: 'ga', quantity: 1 });
    expect(refused).toMatchObject({ success: false, code: 'ADMISSION_REQUIRED' });
    expect(await request(tab1, 'join-queue', { eventId: 'open' })).toMatchObject({ success: false, code: 'QUEUE_NOT_FOUND' });
    expect(await request(tab1, 'join-queue', { eventId: 'no-such-event' })).toMatchObject({ success: false, code: 'QUEUE_NOT_FOUND' });

    // Held back by a full room so the place can be looked at.
    await configure(app, 'flash', { maxActiveUsers: 1, admitPerMinute: 6000 });
    const { socket: blocker } = await connect(app.socketUrl, { userId: 'wr-blocker' });
    const blockerAdmitted = admittedTo(blocker, 'flash');
    await join(blocker, 'flash');
    await blockerAdmitted;

    const first = await join(tab1, 'flash');
    expect(first).toMatchObject({ success: true, eventId: 'flash', state: 'waiting', position: 2, ahead: 0, queueLength: 1, servingPosition: 1, estimatedWaitSeconds: 1 });
    const { socket: tab2 } = await connect(app.socketUrl, { userId: 'wr-alice' });
    expect(await join(tab2, 'flash')).toMatchObject({ state: 'waiting', position: 2, queueLength: 1 });
    tab1.disconnect();
    const { socket: back } = await connect(app.socketUrl, { userId: 'wr-alice' });
    expect(await join(back, 'flash')).toMatchObject({ state: 'waiting', position: 2, queueLength: 1 });

    // The blocker leaves: the slot frees and alice's sockets hear of her turn.
    const updates = collect<QueueUpdate>(tab2, 'queue-update');
    const admitted = admittedTo(tab2, 'flash');
    ok(await request(blocker, 'leave-queue', { eventId: 'flash' }));
    const { admissionToken, admissionExpiresAt } = await admitted;
    const { payload, protectedHeader } = await jwtVerify(admissionToken, new TextEncoder().encode(ADMISSION_TOKEN_SECRET), { audience: 'event:flash' });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe('wr-alice');
    expect(payload.exp).toBe(Math.floor(Date.parse(admissionExpiresAt) / 1000));
    expect(typeof payload.jti).toBe('string');
    expect(Date.parse(admissionExpiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);

    // Every tab answers the same admission, same token.
    expect(await join(back, 'flash')).toMatchObject({ state: 'admitted', admissionToken, admissionExpiresAt, servingPosition: 2 });
    const lock = ok(await request(back, 'lock-tickets', { eventId: 'flash', categoryId: 'ga', quantity: 2 }));
    expect(lock.quantity).toBe(2);
    await sleep(1200);
    expect(updates.at(-1)).toMatchObject({ eventId: 'flash', servingPosition: 2, queueLength: 0, activeUsers: 1, admitPerMinute: 6000, timestamp: anyString() });
    // Leaving gives the admission up: no more holds.
    expect(ok(await request(back, 'leave-queue', { eventId: 'flash' }))).toMatchObject({ eventId: 'flash', left: true });
    expect(await request(back, 'lock-tickets', { eventId: 'flash', categoryId: 'one', quantity: 1 })).toMatchObject({ success: false, code: 'ADMISSION_REQUIRED' });
    await configure(app, 'flash', { maxActiveUsers: 100 });
  });

  it('pacing: admitPerMinute=60 admits at most 10-11 over 10 s', async () => {
    await configure(app, 'pace', { admitPerMinute: 60 });
    const sockets = await Promise.all(Array.from({ length: 15 }, (_, i) => connect(app.socketUrl, { userId: `pace-${i}` })));
    const admittedAt: number[] = [];
    for (const { socket } of sockets) socket.on('queue-admitted', () => admittedAt.push(Date.now()));
    const started = Date.now();
    for (const { socket } of sockets) await join(socket, 'pace');
    await sleep(10_000 - (Date.now() - started));
    const inWindow = admittedAt.filter((t) => t - started <= 10_000).length;
    expect(inWindow).toBeLessThanOrEqual(11);
    expect(inWindow).toBeGreaterThanOrEqual(8);
    // Never two admissions closer than the pace allows beyond the one-second bucket.
    const stats = await roomStats(app, 'pace');
    expect(stats?.admittedTotal).toBe(admittedAt.length);
  }, 20_000);

  it('the cap: never more than maxActiveUsers active; a leave frees the slot', async () => {
    await configure(app, 'cap', { maxActiveUsers: 2 });
    const users = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(app.socketUrl, { userId: `cap-${i}` })));
    const admitted: string[] = [];
    users.forEach(({ socket }, i) => socket.on('queue-admitted', () => admitted.push(`cap-${i}`)));
    for (const { socket } of users) await join(socket, 'cap');
    const peak = { active: 0 };
    const watch = setInterval(() => {
      void roomStats(app, 'cap').then((s) => (peak.active = Math.max(peak.active, s?.activeUsers ?? 0)));
    }, 100);
    try {
      await sleep(2500);
      expect(admitted).toEqual(['cap-0', 'cap-1']);
      ok(await request(users[0]!.socket, 'leave-queue', { eventId: 'cap' }));
      await sleep(1500);
      expect(admitted).toEqual(['cap-0', 'cap-1', 'cap-2']);
      expect(await roomStats(app, 'cap')).toMatchObject({ queueLength: 2, activeUsers: 2, admittedTotal: 3 });
    } finally {
      clearInterval(watch);
    }
    expect(peak.active).toBe(2);
  });

  it('a user with no socket for QUEUE_ABANDON_SECONDS is skipped and removed at their turn', async () => {
    await configure(app, 'abandon', { maxActiveUsers: 1 });
    const { socket: holder } = await connect(app.socketUrl, { userId: 'ab-holder' });
    const holderIn = admittedTo(holder, 'abandon');
    await join(holder, 'abandon');
    await holderIn;
    const { socket: gone } = await connect(app.socketUrl, { userId: 'ab-gone' });
    expect(await join(gone, 'abandon')).toMatchObject({ position: 2 });
    const { socket: stays } = await connect(app.socketUrl, { userId: 'ab-stays' });
    expect(await join(stays, 'abandon')).toMatchObject({ position: 3 });
    gone.disconnect();
    await sleep(1600);
    const staysIn = admittedTo(stays, 'abandon');
    ok(await request(holder, 'leave-queue', { eventId: 'abandon' }));
    await staysIn;
    expect(await roomStats(app, 'abandon')).toMatchObject({ queueLength: 0, activeUsers: 1, admittedTotal: 2 });
    // The abandoned user lost the place: back, they queue at the end.
    const { socket: again } = await connect(app.socketUrl, { userId: 'ab-gone' });
    expect(await join(again, 'abandon')).toMatchObject({ state: 'waiting', position: 4 });
  });

  it('an admission ends at admissionMinutes and frees the slot for the next user', async () => {
    await configure(app, 'expiry', { maxActiveUsers: 1, admissionMs: 1500 });
    const { socket: first } = await connect(app.socketUrl, { userId: 'exp-1' });
    const { socket: second } = await connect(app.socketUrl, { userId: 'exp-2' });
    const firstIn = admittedTo(first, 'expiry');
    await join(first, 'expiry');
    const { admissionExpiresAt } = await firstIn;
    const secondIn = admittedTo(second, 'expiry');
    await join(second, 'expiry');
    await sleep(Math.max(0, Date.parse(admissionExpiresAt) - Date.now()) + 30);
    expect(await request(first, 'lock-tickets', { eventId: 'expiry', categoryId: 'ga', quantity: 1 })).toMatchObject({ code: 'ADMISSION_REQUIRED' });
    const next2 = await secondIn;
    expect(Date.parse(next2.admissionExpiresAt)).toBeGreaterThan(Date.parse(admissionExpiresAt));
    ok(await request(second, 'lock-tickets', { eventId: 'expiry', categoryId: 'ga', quantity: 1 }));
  });

  it("confirming the user's lock ends the admission at once and the next user is admitted", async () => {
    await configure(app, 'confirm', { maxActiveUsers: 1 });
    const { socket: buyer } = await connect(app.socketUrl, { userId: 'cf-buyer' });
    const { socket: next1 } = await connect(app.socketUrl, { userId: 'cf-next' });
    const buyerIn = admittedTo(buyer, 'confirm');
    await join(buyer, 'confirm');
    await buyerIn;
    const nextIn = admittedTo(next1, 'confirm');
    await join(next1, 'confirm');
    const lock = ok(await request(buyer, 'lock-tickets', { eventId: 'confirm', categoryId: 'ga', quantity: 1 }));
    await sleep(1200);
    expect((await roomStats(app, 'confirm'))?.activeUsers).toBe(1);
    await app.app.get(LockService).confirm(lock.lockId, 'order-1');
    expect((await roomStats(app, 'confirm'))?.activeUsers).toBe(0);
    expect(await join(buyer, 'confirm')).toMatchObject({ state: 'waiting' });
    await nextIn;
  });

  it('ADMISSION_REQUIRED races: a user admitted while requests are in flight gets exactly one lock, none before the admission', async () => {
    await configure(app, 'race', { admitPerMinute: 60, maxActiveUsers: 10 });
    const { socket } = await connect(app.socketUrl, { userId: 'race-user' });
    const admitted = admittedTo(socket, 'race');
    let admittedAtMs = Number.POSITIVE_INFINITY;
    void admitted.then(({ admissionExpiresAt }) => (admittedAtMs = Date.parse(admissionExpiresAt) - 600_000));
    await join(socket, 'race');
    const answers: Array<ReturnType<typeof request<'lock-tickets'>>> = [];
    let stopAt = Date.now() + 4000;
    void admitted.then(() => (stopAt = Math.min(stopAt, Date.now() + 300)));
    while (Date.now() < stopAt) {
      answers.push(request(socket, 'lock-tickets', { eventId: 'race', categoryId: 'one', quantity: 1 }));
      await sleep(5);
    }
    const settled = await Promise.all(answers);
    const codes = settled.map((a) => (a.success ? 'OK' : a.code));
    const granted = settled.find((a) => a.success);
    const firstOk = codes.indexOf('OK');
    expect(firstOk).toBeGreaterThan(0);
    // Refused until the admission, then one lock, then the user's own lock blocks the rest.
    expect(codes.slice(0, firstOk).every((c) => c === 'ADMISSION_REQUIRED')).toBe(true);
    expect(codes.slice(firstOk + 1).every((c) => c === 'DUPLICATE_LOCK')).toBe(true);
    const lock = await app.app.get(LockService).get(granted!.lockId);
    expect(Date.parse(lock!.createdAt)).toBeGreaterThanOrEqual(admittedAtMs);
    expect((await app.app.get(LockService).eventAvailability('race')).find((a) => a.categoryId === 'one')?.lockedTickets).toBe(1);
  });

  it('early joiners wait without a place until salesStartAt, then get one; nobody is admitted before', async () => {
    const salesStartAt = Date.now() + 2500;
    await configure(app, 'early', { salesStartAt });
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => connect(app.socketUrl, { userId: `early-${i}` })));
    const admitted = collect<QueueAdmitted>(users[0]!.socket, 'queue-admitted');
    for (const { socket } of users) {
      const joined = await join(socket, 'early');
      expect(joined).toMatchObject({ state: 'waiting', salesStartAt: new Date(salesStartAt).toISOString() });
      expect(joined.position).toBeUndefined();
      expect(joined.estimatedWaitSeconds).toBeUndefined();
    }
    await sleep(1200);
    expect(admitted).toEqual([]);
    expect(await roomStats(app, 'early')).toMatchObject({ queueLength: 6, activeUsers: 0 });
    await sleep(Math.max(0, salesStartAt - Date.now()) + 1300);
    const places = await Promise.all(users.map(async ({ socket }) => (await join(socket, 'early')).position ?? 0));
    const { activeUsers } = (await roomStats(app, 'early'))!;
    expect(activeUsers).toBeGreaterThan(0);
    expect(places.filter((p) => p > 0).length + activeUsers).toBeGreaterThanOrEqual(6);
  });

  it('switched off: everyone waiting is told (closed: true), joins are refused QUEUE_CLOSED, holds need no admission', async () => {
    await configure(app, 'off', { maxActiveUsers: 1 });
    const { socket: a } = await connect(app.socketUrl, { userId: 'off-a' });
    const { socket: b } = await connect(app.socketUrl, { userId: 'off-b' });
    await join(a, 'off');
    await join(b, 'off');
    const closed = next<QueueUpdate>(b, 'queue-update', (u) => u.eventId === 'off' && u.closed === true);
    await configure(app, 'off', null);
    expect(await closed).toMatchObject({ closed: true, queueLength: 0 });
    expect(await request(b, 'join-queue', { eventId: 'off' })).toMatchObject({ success: false, code: 'QUEUE_CLOSED' });
    ok(await request(b, 'lock-tickets', { eventId: 'off', categoryId: 'ga', quantity: 1 }));
    expect(await roomStats(app, 'off')).toMatchObject({ queueLength: 0, activeUsers: 0 });
  });

  it('/stats lists every room; /metrics has their gauges; this instance is the admitter', async () => {
    const { body } = await getJson<StatsResponse>(app, '/stats');
    expect(body.waitingRooms.map((r) => r.eventId)).toEqual(expect.arrayContaining(['flash', 'pace', 'cap']));
    for (const room of body.waitingRooms) expect(room).toEqual({ eventId: room.eventId, queueLength: anyNumber(), activeUsers: anyNumber(), admittedTotal: anyNumber() });
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/realtime_waiting_room_queue_length\{event="flash"\} \d+/);
    expect(metrics).toMatch(/realtime_waiting_room_active_users\{event="cap"\} 2/);
    expect(metrics).toMatch(/realtime_waiting_room_admitted\{event="cap"\} 3/);
    expect(metrics).toMatch(/realtime_waiting_room_admissions_total\{event="pace"\} \d+/);
    expect(app.app.get(QueueAdmitter).isAdmitter).toBe(true);
  });
});

describe('waiting room in zero-configuration mode (in-process store)', () => {
  const app = useApp({ catalog: CATALOG, env: { REDIS_URL: undefined, RATE_LIMIT_PER_MINUTE: '0' } });

  it('the catalog room queues, admits and gates holds like the Redis one', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'zc-user' });
    expect(await request(socket, 'lock-tickets', { eventId: 'flash', categoryId: 'ga', quantity: 1 })).toMatchObject({ code: 'ADMISSION_REQUIRED' });
    const admitted = admittedTo(socket, 'flash');
    expect(await join(socket, 'flash')).toMatchObject({ state: 'waiting', position: 1 });
    const { admissionToken } = await admitted;
    expect(await join(socket, 'flash')).toMatchObject({ state: 'admitted', admissionToken });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 'flash', categoryId: 'ga', quantity: 1 }));
    await app.app.get(LockService).confirm(lock.lockId);
    expect(await join(socket, 'flash')).toMatchObject({ state: 'waiting', position: 2 });
    expect(await roomStats(app, 'flash')).toMatchObject({ queueLength: 1, activeUsers: 0, admittedTotal: 1 });
  });
});
