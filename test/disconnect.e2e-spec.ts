import type { Availability } from '#lock-domain';
import { describe, expect, it } from 'vitest';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { useApp } from './support/app.js';
import { connect, next, ok, request, sleep } from './support/clients.js';

const GRACE_MS = 1000;

describe(`disconnect grace (DISCONNECT_GRACE_SECONDS=${GRACE_MS / 1000})`, () => {
  const app = useApp({ env: { DISCONNECT_GRACE_SECONDS: String(GRACE_MS / 1000) } });

  const status = async (lockId: string) => (await app.app.get(LockService).get(lockId))?.status;

  /** A user who locks a ticket in `categoryId` of event 1 and leaves: the yardstick for "grace is over". */
  async function controlLeaver(name: string, categoryId: number): Promise<{ lockId: string; released: Promise<Availability>; leave(): void }> {
    const { socket: watcher } = await connect(app.socketUrl, { userId: `${name}-watcher` });
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    const { socket } = await connect(app.socketUrl, { userId: name });
    const { lockId } = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId, quantity: 1 }));
    const released = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === categoryId && a.lockedTickets === 0);
    return { lockId, released, leave: () => socket.disconnect() };
  }

  it("releases a disconnected session's locks after the grace period, not before", async () => {
    const control = await controlLeaver('leaves', 1);
    const leftAt = Date.now();
    control.leave();
    await control.released;
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(GRACE_MS);
    expect(await app.app.get(LockService).get(control.lockId)).toMatchObject({ status: 'RELEASED', reason: 'disconnected' });
  });

  it('keeps the locks when the user reconnects within the grace period', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'comes-back' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    const control = await controlLeaver('gone-for-good', 1);
    const leftAt = Date.now();
    socket.disconnect();
    control.leave(); // after ours: its release means our grace check has run
    await sleep(GRACE_MS / 4);
    const { socket: again } = await connect(app.socketUrl, { userId: 'comes-back' });
    expect(Date.now() - leftAt, 'the reconnection itself must happen within the grace period').toBeLessThan(GRACE_MS);
    await control.released;
    expect(await status(lock.lockId)).toBe('ACTIVE');
    expect(ok(await request(again, 'get-my-locks')).locks.map((l) => l.lockId)).toEqual([lock.lockId]);
    ok(await request(again, 'unlock-tickets', { lockId: lock.lockId }));
  });

  it('keeps the locks while another tab of the user stays connected', async () => {
    const { socket: tab1 } = await connect(app.socketUrl, { userId: 'two-tabs' });
    const { socket: tab2 } = await connect(app.socketUrl, { userId: 'two-tabs' });
    const lock = ok(await request(tab1, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 }));
    const control = await controlLeaver('single-tab', 1);
    tab1.disconnect();
    control.leave();
    await control.released;
    expect(await status(lock.lockId)).toBe('ACTIVE');
    ok(await request(tab2, 'unlock-tickets', { lockId: lock.lockId }));
  });

  /** Resolves when the user's lock in `categoryId` of event 1 is seen freed by a watcher of the room. */
  async function watchRelease(name: string, categoryId: number): Promise<{ released: Promise<Availability> }> {
    const { socket: watcher } = await connect(app.socketUrl, { userId: `${name}-watcher` });
    ok(await request(watcher, 'join-event-room', { eventId: 1 }));
    return { released: next<Availability>(watcher, 'availability-update', (a) => a.categoryId === categoryId && a.lockedTickets === 0) };
  }

  it('lock, drop, reconnect, drop: released one grace after the second drop (a new grace, not a leak)', async () => {
    const { released } = await watchRelease('drops-twice', 2);
    const { socket } = await connect(app.socketUrl, { userId: 'drops-twice' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    socket.disconnect();
    await sleep(GRACE_MS / 4);
    const { socket: again } = await connect(app.socketUrl, { userId: 'drops-twice' });
    // Back past the first grace: that one has run and found the user connected.
    await sleep(GRACE_MS * 1.2);
    expect(await status(lock.lockId)).toBe('ACTIVE');
    const secondDrop = Date.now();
    again.disconnect();
    await released;
    expect(Date.now() - secondDrop).toBeGreaterThanOrEqual(GRACE_MS - 20);
    expect(await app.app.get(LockService).get(lock.lockId)).toMatchObject({ status: 'RELEASED', reason: 'disconnected' });
  });

  it('lock in tab A with tab B open: closing A keeps the lock, closing B releases it after the grace', async () => {
    const { released } = await watchRelease('tab-closer', 1);
    const { socket: tabA } = await connect(app.socketUrl, { userId: 'tab-closer' });
    const { socket: tabB } = await connect(app.socketUrl, { userId: 'tab-closer' });
    const lock = ok(await request(tabA, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 1 }));
    tabA.disconnect();
    await sleep(GRACE_MS * 1.5);
    expect(await status(lock.lockId)).toBe('ACTIVE');
    const closedB = Date.now();
    tabB.disconnect();
    await released;
    expect(Date.now() - closedB).toBeGreaterThanOrEqual(GRACE_MS - 20);
    expect(await app.app.get(LockService).get(lock.lockId)).toMatchObject({ status: 'RELEASED', reason: 'disconnected' });
  });
});

describe('disconnect grace 0 releases at once', () => {
  const app = useApp({ env: { DISCONNECT_GRACE_SECONDS: '0' } });

  it('releases as soon as the socket is gone', async () => {
    const { socket: watcher } = await connect(app.socketUrl, { userId: 'zero-watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 'fest-2027' }));
    const { socket } = await connect(app.socketUrl, { userId: 'zero' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 2 }));
    const freed = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 'backstage' && a.lockedTickets === 0);
    socket.disconnect();
    await freed;
    expect(await app.app.get(LockService).get(lock.lockId)).toMatchObject({ status: 'RELEASED', reason: 'disconnected' });
  });
});
