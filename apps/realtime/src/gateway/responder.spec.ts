import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '#config';
import { LockError } from '#lock-domain';
import { Metrics } from '../observability/metrics.js';
import { Responder } from './responder.js';
import type { RealtimeSocket } from './socket-types.js';

function fakeSocket(userId = 'u1') {
  const emit = vi.fn<(event: string, answer: unknown) => boolean>(() => true);
  return { socket: { data: { userId }, emit } as unknown as RealtimeSocket, emit };
}

const responder = () => new Responder({ lock: { maxTicketsPerLock: 10 } } as AppConfig, new Metrics());
const LOCK = { eventId: 1, categoryId: 'vip', quantity: 2 };
const RESULT = {
  lockId: 'l-1',
  eventId: 1,
  categoryId: 'vip',
  quantity: 2,
  status: 'ACTIVE' as const,
  expiresAt: '2030-01-01T00:00:00.000Z',
  expiresInSeconds: 300,
  availableTickets: 7,
};

// The per-request debug line is not under test here; it would only fill the test output.
beforeEach(() => vi.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined));
afterEach(() => vi.restoreAllMocks());

describe('Responder', () => {
  it('hands the validated payload and the authenticated user to the handler, and answers on the ack and <event>-response', async () => {
    const { socket, emit } = fakeSocket();
    const ack = vi.fn();
    const handle = vi.fn(async () => RESULT);
    await responder().answer(socket, 'lock-tickets', { ...LOCK, requestId: 'r-1' }, ack, handle);

    expect(handle).toHaveBeenCalledWith({ ...LOCK, requestId: 'r-1' }, 'u1');
    const answer = { success: true, ...RESULT };
    expect(ack).toHaveBeenCalledExactlyOnceWith(answer);
    expect(emit).toHaveBeenCalledExactlyOnceWith('lock-tickets-response', answer);
  });

  it('answers get-my-locks on my-locks-response, with or without a payload', async () => {
    const { socket, emit } = fakeSocket();
    await responder().answer(socket, 'get-my-locks', undefined, undefined, async () => ({ locks: [] }));
    await responder().answer(socket, 'get-my-locks', {}, undefined, async () => ({ locks: [] }));
    expect(emit.mock.calls).toEqual([
      ['my-locks-response', { success: true, locks: [] }],
      ['my-locks-response', { success: true, locks: [] }],
    ]);
  });

  it('without an ack (or with something that is not a function) answers on <event>-response only', async () => {
    const { socket, emit } = fakeSocket();
    await responder().answer(socket, 'heartbeat', {}, 'not-a-callback', async () => ({ timestamp: 't' }));
    expect(emit).toHaveBeenCalledExactlyOnceWith('heartbeat-response', { success: true, timestamp: 't' });
  });

  it.each([
    ['a wrong type', { ...LOCK, quantity: '2' }, /quantity must be an integer from 1 to 10/],
    ['a missing field', { eventId: 1, quantity: 1 }, /categoryId is required/],
    ['an out-of-range quantity', { ...LOCK, quantity: 11 }, /quantity must be an integer from 1 to 10/],
    ['an odd id', { ...LOCK, eventId: 'a b' }, /eventId must be/],
    ['an unknown field', { ...LOCK, admin: true }, /unexpected field/],
    ['a non-object payload', 'lock please', /payload must be an object/],
    ['no payload', undefined, /payload must be an object/],
  ])('refuses %s with VALIDATION_FAILED, naming the problem, without calling the handler', async (_case, payload, message) => {
    const { socket, emit } = fakeSocket();
    const ack = vi.fn();
    const handle = vi.fn(async () => RESULT);
    await responder().answer(socket, 'lock-tickets', payload, ack, handle);

    expect(handle).not.toHaveBeenCalled();
    const answer = { success: false, code: 'VALIDATION_FAILED', message: expect.stringMatching(message) as unknown };
    expect(ack).toHaveBeenCalledExactlyOnceWith(answer);
    expect(emit).toHaveBeenCalledExactlyOnceWith('lock-tickets-response', answer);
  });

  it('accepts a payload userId equal to the authenticated user (string or number) and refuses any other with FORBIDDEN', async () => {
    const { socket, emit } = fakeSocket('7');
    const handle = vi.fn(async () => ({ eventId: 1 }));
    const r = responder();
    await r.answer(socket, 'leave-event-room', { eventId: 1, userId: '7' }, undefined, handle);
    await r.answer(socket, 'leave-event-room', { eventId: 1, userId: 7 }, undefined, handle);
    await r.answer(socket, 'leave-event-room', { eventId: 1, userId: '8' }, undefined, handle);

    expect(handle).toHaveBeenCalledTimes(2);
    expect(emit.mock.calls.map(([, answer]) => answer)).toEqual([
      { success: true, eventId: 1 },
      { success: true, eventId: 1 },
      { success: false, code: 'FORBIDDEN', message: expect.any(String) as unknown },
    ]);
  });

  it('maps a LockError to its code and message', async () => {
    const { socket, emit } = fakeSocket();
    await responder().answer(socket, 'lock-tickets', LOCK, undefined, async () => {
      throw new LockError('INSUFFICIENT_TICKETS', 'Only 1 ticket left');
    });
    expect(emit).toHaveBeenCalledExactlyOnceWith('lock-tickets-response', { success: false, code: 'INSUFFICIENT_TICKETS', message: 'Only 1 ticket left' });
  });

  it('answers INTERNAL_ERROR for anything else, without its message or stack, and logs it on the server', async () => {
    const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { socket, emit } = fakeSocket();
    const ack = vi.fn();
    await responder().answer(socket, 'extend-lock', { lockId: 'l-1' }, ack, async () => {
      throw new Error('ECONNREFUSED redis://:s3cret@10.0.0.7:6379');
    });

    const answer = ack.mock.calls[0]?.[0] as { success: boolean; code: string; message: string };
    expect(answer).toEqual({ success: false, code: 'INTERNAL_ERROR', message: expect.any(String) as unknown });
    expect(JSON.stringify(answer)).not.toMatch(/ECONNREFUSED|s3cret|10\.0\.0\.7|at /);
    expect(emit).toHaveBeenCalledExactlyOnceWith('extend-lock-response', answer);
    expect(logged).toHaveBeenCalledExactlyOnceWith(expect.stringContaining('ECONNREFUSED'));
  });

  it('treats a thrown non-Error the same way', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { socket, emit } = fakeSocket();
    await responder().answer(socket, 'heartbeat', {}, undefined, async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
      throw 'plain string';
    });
    expect(emit).toHaveBeenCalledExactlyOnceWith('heartbeat-response', { success: false, code: 'INTERNAL_ERROR', message: expect.any(String) as unknown });
  });

  it('never throws, even when the client callback does', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { socket } = fakeSocket();
    const ack = () => {
      throw new Error('client callback failed');
    };
    await expect(responder().answer(socket, 'heartbeat', {}, ack, async () => ({ timestamp: 't' }))).resolves.toBeUndefined();
  });
});
