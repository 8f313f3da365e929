import type { Availability } from '#lock-domain';
import { describe, expect, it } from 'vitest';
import { getJson, useApp } from './support/app.js';
import { collect, connect, next, ok, request } from './support/clients.js';

describe('availability-update coalescing (BROADCAST_INTERVAL_MS=100)', () => {
  const app = useApp({ env: { BROADCAST_INTERVAL_MS: '100' } });

  it('a burst of 200 locks produces far fewer updates, the first at once and the last with the final counts', async () => {
    const { socket: watcher } = await connect(app.socketUrl, { userId: 'burst-watcher' });
    const before = ok(await request(watcher, 'join-event-room', { eventId: 1 })).availability.find((a) => a.categoryId === 3);
    const buyers = await Promise.all(Array.from({ length: 200 }, (_, i) => connect(app.socketUrl, { userId: `burst-${i}` })));
    const updates = collect<Availability>(watcher, 'availability-update');

    const started = Date.now();
    const answers = await Promise.all(buyers.map(({ socket }) => request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 })));
    const answered = Date.now();
    expect(answers.every((a) => a.success)).toBe(true);
    const { body } = await getJson<Availability[]>(app, '/events/1/availability');
    const final = body.find((a) => a.categoryId === 3);
    expect(final).toMatchObject({ lockedTickets: 200, availableTickets: 800 });
    // The last update carries exactly the final counts.
    const last = updates.at(-1)?.version === final?.version ? updates.at(-1) : await next<Availability>(watcher, 'availability-update', (u) => u.version === final?.version);
    expect(last).toMatchObject({ eventId: 1, categoryId: 3, lockedTickets: 200, availableTickets: 800, version: final?.version });

    const ofCategory = updates.filter((u) => u.categoryId === 3);
    // At most one per interval. Every update left the server between the first change (after
    // `started`) and one interval after the last (before `answered` + 100 ms): a window of that
    // length holds at most floor(length / 100) + 1 sends 100 ms apart. (Measured on the sending
    // side's window, not from arrival times, which a busy machine bunches together.)
    expect(ofCategory.length).toBeLessThanOrEqual(Math.floor((answered - started + 100) / 100) + 1);
    expect(ofCategory.length).toBeLessThan(200 / 4);
    // The first went out at once: it shows a single lock more than the snapshot.
    expect(ofCategory[0]?.lockedTickets).toBe((before?.lockedTickets ?? 0) + 1);
    // Versions only rise.
    for (let i = 1; i < ofCategory.length; i += 1) expect(ofCategory[i]?.version).toBeGreaterThan(ofCategory[i - 1]?.version ?? Infinity);
  });
});
