import type { Availability } from '#lock-domain';
import type { ErrorNotification } from '#contracts';
import { describe, expect, it } from 'vitest';
import { getJson, useApp } from './support/app.js';
import { collect, connect, emitRaw, next, ok, request, requestByResponse } from './support/clients.js';
import { anyString } from './support/matchers.js';

const LIMIT = 10;

describe(`per-user rate limit (RATE_LIMIT_PER_MINUTE=${LIMIT})`, () => {
  const app = useApp({ env: { RATE_LIMIT_PER_MINUTE: String(LIMIT) } });

  it('answers RATE_LIMITED beyond the limit, once on its answer path, for all the sockets of the user', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'spammer' });
    const { socket: otherTab } = await connect(app.socketUrl, { userId: 'spammer' });
    const answers = [];
    for (let i = 0; i < LIMIT; i += 1) answers.push(await request(socket, 'heartbeat'));
    expect(answers.every((a) => a.success)).toBe(true);

    const responses = collect(socket, 'heartbeat-response');
    const limited = await request(socket, 'heartbeat');
    expect(limited).toEqual({ success: false, code: 'RATE_LIMITED', message: anyString() });
    // Without an ack, the refusal comes as <event>-response; with one, on the ack alone.
    expect(await requestByResponse(socket, 'heartbeat')).toEqual(limited);
    expect(responses).toEqual([limited]);
    // The budget is the user's, not the socket's.
    expect(await request(otherTab, 'get-my-locks')).toMatchObject({ success: false, code: 'RATE_LIMITED' });

    // A limited lock changes nothing, and the socket stays connected.
    const before = (await getJson<Availability[]>(app, '/events/1/availability')).body;
    expect(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1 })).toMatchObject({ code: 'RATE_LIMITED' });
    expect((await getJson<Availability[]>(app, '/events/1/availability')).body.map((a) => a.version)).toEqual(before.map((a) => a.version));
    expect(socket.connected).toBe(true);

    // Messages without an answer path get an `error` event.
    const error = next<ErrorNotification>(socket, 'error');
    emitRaw(socket, 'not-a-contract-event', {});
    expect(await error).toEqual({ code: 'RATE_LIMITED', message: anyString() });

    // Other users are not affected.
    const { socket: polite } = await connect(app.socketUrl, { userId: 'polite' });
    ok(await request(polite, 'heartbeat'));
  });
});
