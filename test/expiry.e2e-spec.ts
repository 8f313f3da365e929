import type { Availability } from '#lock-domain';
import type { LockNotification } from '#contracts';
import { describe, expect, it } from 'vitest';
import { getJson, useApp } from './support/app.js';
import { connect, next, ok, request, sleep } from './support/clients.js';

describe('exact expiry of 3-second locks', () => {
  // LOCK_DURATION_MINUTES=0.05 is 3 s; the periodic sweep stays at its 1-minute default.
  const app = useApp({ env: { LOCK_DURATION_MINUTES: '0.05' } });

  it('stops counting at expiresAt to the millisecond and tells the owner lock-expired', async () => {
    const { socket: owner } = await connect(app.socketUrl, { userId: 'expiring' });
    const { socket: watcher } = await connect(app.socketUrl, { userId: 'expiry-watcher' });
    ok(await request(watcher, 'join-event-room', { eventId: 'fest-2027' }));

    const lock = ok(await request(owner, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 4 }));
    const expiresAt = Date.parse(lock.expiresAt);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3000);
    expect(lock.expiresInSeconds).toBe(3);
    const expired = next<LockNotification>(owner, 'lock-expired', (n) => n.lockId === lock.lockId).then((n) => ({ n, at: Date.now() }));
    const restored = next<Availability>(watcher, 'availability-update', (a) => a.categoryId === 'early-bird' && a.lockedTickets === 0);

    // Read the counts around expiresAt: each read says (timestamp) on which side of it it was taken.
    const reads: Availability[] = [];
    while (Date.now() < expiresAt + 300) {
      const { body } = await getJson<Availability[]>(app, '/events/fest-2027/availability');
      const entry = body.find((a) => a.categoryId === 'early-bird');
      if (entry) reads.push(entry);
      await sleep(Date.now() < expiresAt - 400 ? 200 : 15);
    }
    for (const read of reads) {
      const before = Date.parse(read.timestamp) < expiresAt;
      expect(read.lockedTickets, read.timestamp).toBe(before ? 4 : 0);
      expect(read.availableTickets, read.timestamp).toBe(before ? 16 : 20);
    }
    expect(reads.some((r) => Date.parse(r.timestamp) < expiresAt)).toBe(true);
    expect(reads.some((r) => Date.parse(r.timestamp) >= expiresAt)).toBe(true);

    const { n, at } = await expired;
    expect(n).toEqual({ lockId: lock.lockId, eventId: 'fest-2027', categoryId: 'early-bird', quantity: 4, status: 'EXPIRED', reason: 'expired' });
    expect(at).toBeGreaterThanOrEqual(expiresAt);
    expect(await restored).toMatchObject({ lockedTickets: 0, availableTickets: 20 });

    expect(ok(await request(owner, 'get-my-locks')).locks).toEqual([]);
    expect(await request(owner, 'extend-lock', { lockId: lock.lockId })).toMatchObject({ success: false, code: 'LOCK_EXPIRED' });
    expect(await request(owner, 'unlock-tickets', { lockId: lock.lockId })).toMatchObject({ success: false, code: 'LOCK_EXPIRED' });
    // The category is free again for the same user.
    const again = ok(await request(owner, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 4 }));
    ok(await request(owner, 'unlock-tickets', { lockId: again.lockId }));
  });
});
