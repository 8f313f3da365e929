import { describe, expect, it } from 'vitest';
import { useApp } from './support/app.js';
import { connect, ok, request } from './support/clients.js';

/** The value of one sample line of a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics', () => {
  const app = useApp();

  it('counts connections, rooms, requests by outcome, latency and broadcasts', async () => {
    const { socket: alice } = await connect(app.socketUrl, { userId: 'alice' });
    const { socket: bob } = await connect(app.socketUrl, { userId: 'bob' });
    ok(await request(alice, 'join-event-room', { eventId: 1 }));
    ok(await request(bob, 'join-event-room', { eventId: 1 }));
    const lock = ok(await request(alice, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 2 }));
    expect(await request(bob, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 999 })).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await request(alice, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 1 })).toMatchObject({ code: 'DUPLICATE_LOCK' });
    ok(await request(alice, 'unlock-tickets', { lockId: lock.lockId }));
    ok(await request(bob, 'get-my-locks', {}));

    const response = await fetch(`${app.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(sample(text, 'realtime_connections', 'authenticated="true"')).toBe(2);
    expect(sample(text, 'realtime_event_room_members', 'room="event:1"')).toBe(2);
    expect(sample(text, 'realtime_messages_received_total', 'event="lock-tickets"')).toBe(3);
    expect(sample(text, 'realtime_lock_requests_total', 'event="lock-tickets",outcome="ok"')).toBe(1);
    expect(sample(text, 'realtime_lock_requests_total', 'event="lock-tickets",outcome="DUPLICATE_LOCK"')).toBe(1);
    expect(sample(text, 'realtime_lock_requests_total', 'event="lock-tickets",outcome="VALIDATION_FAILED"')).toBe(1);
    expect(sample(text, 'realtime_lock_requests_total', 'event="unlock-tickets",outcome="ok"')).toBe(1);
    expect(sample(text, 'realtime_request_duration_seconds_count', 'event="lock-tickets"')).toBe(3);
    expect(sample(text, 'realtime_availability_updates_total', 'result="offered"')).toBe(2);
    expect(sample(text, 'realtime_availability_updates_total', 'result="sent"')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'realtime_messages_sent_total', 'type="lock-tickets-response"')).toBe(3);
    // Counted under the event actually sent (the contract names get-my-locks' answer my-locks-response).
    expect(sample(text, 'realtime_messages_sent_total', 'type="my-locks-response"')).toBe(1);
    expect(text).toContain('process_resident_memory_bytes');
  });
});
