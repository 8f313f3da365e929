import type { Availability, LockStats } from '#lock-domain';
import { describe, expect, it } from 'vitest';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { getJson, useApp } from './support/app.js';
import { connect, ok, request } from './support/clients.js';
import { anyString, anyNumber } from './support/matchers.js';

interface Stats {
  service: string;
  status: string;
  instanceId: string;
  uptimeSeconds: number;
  connectedUsers: number;
  connections: number;
  ticketLocks: LockStats;
}

describe('HTTP read side', () => {
  const app = useApp();

  it('GET /stats counts locks and connections after a known sequence', async () => {
    const empty = await getJson<Stats>(app, '/stats');
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      service: 'realtime-service',
      status: 'active',
      instanceId: anyString(),
      uptimeSeconds: anyNumber(),
      connectedUsers: 0,
      connections: 0,
      ticketLocks: {
        totalLocks: 0,
        activeLocks: 0,
        usersWithLocks: 0,
        categoriesWithLocks: 0,
        locksByStatus: { active: 0, expired: 0, confirmed: 0, released: 0 },
      },
      // No event of the test catalog has a waiting room (CONTRACT §7; see waiting-room.e2e-spec.ts).
      waitingRooms: [],
    });

    const { socket: alice } = await connect(app.socketUrl, { userId: 'alice' });
    await connect(app.socketUrl, { userId: 'alice' });
    const { socket: bob } = await connect(app.socketUrl, { userId: 'bob' });
    const a1 = ok(await request(alice, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 1 }));
    ok(await request(alice, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 2 }));
    const b1 = ok(await request(bob, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    ok(await request(bob, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'backstage', quantity: 1 }));
    ok(await request(alice, 'unlock-tickets', { lockId: a1.lockId }));
    await app.app.get(LockService).confirm(b1.lockId, 'order-42');

    const { body } = await getJson<Stats>(app, '/stats');
    expect(body).toMatchObject({ connections: 3, connectedUsers: 2 });
    expect(body.ticketLocks).toEqual({
      totalLocks: 4,
      activeLocks: 2,
      usersWithLocks: 2,
      categoriesWithLocks: 2,
      locksByStatus: { active: 2, expired: 0, confirmed: 1, released: 1 },
    });
    expect(body.instanceId).toBe(empty.body.instanceId);
  });

  it('GET /events lists every event with its categories and counts', async () => {
    const { body, status } = await getJson<Array<{ id: unknown; name: string; categories: unknown[] }>>(app, '/events');
    expect(status).toBe(200);
    expect(body.map((e) => [e.id, e.name])).toEqual([
      [1, 'Rock Night'],
      ['fest-2027', 'Summer Fest'],
    ]);
    expect(body[1]?.categories).toEqual([
      { categoryId: 'early-bird', name: 'Early Bird', totalTickets: 20, availableTickets: 20, lockedTickets: 0, soldTickets: 0 },
      { categoryId: 'backstage', name: 'backstage', totalTickets: 2, availableTickets: anyNumber(), lockedTickets: anyNumber(), soldTickets: 0 },
    ]);
  });

  it('GET /events/:eventId/availability answers Availability[] and 404 for an unknown event', async () => {
    const { body, status } = await getJson<Availability[]>(app, '/events/fest-2027/availability');
    expect(status).toBe(200);
    expect(body.map((a) => a.categoryId)).toEqual(['early-bird', 'backstage']);
    expect(body[0]).toEqual({
      eventId: 'fest-2027',
      categoryId: 'early-bird',
      totalTickets: 20,
      availableTickets: 20,
      lockedTickets: 0,
      soldTickets: 0,
      version: anyNumber(),
      timestamp: anyString(),
    });
    const missing = await getJson<{ code: string }>(app, '/events/404/availability');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, code: 'EVENT_NOT_FOUND' });
    expect((await getJson(app, '/events/bad%20id/availability')).status).toBe(404);
  });
});
