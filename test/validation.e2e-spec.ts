import type { Availability } from '#lock-domain';
import { RESPONSE_EVENTS, type Answer, type RequestEvent } from '#contracts';
import { describe, expect, it } from 'vitest';
import { getJson, type TestApp, useApp } from './support/app.js';
import { connect, disconnected, emitRaw, ok, request, type TestSocket } from './support/clients.js';
import { anyString, anyNumber } from './support/matchers.js';

const LOCK_ID_PLACEHOLDER = '<held lock>';
const long = (n: number) => 'x'.repeat(n);
/** An object with an own `__proto__` key, as JSON.parse builds it from hostile input. */
const protoPayload = (base: object) => ({ ...base, ...(JSON.parse('{"__proto__":{"polluted":true}}') as object) });

/**
 * Malformed calls per event: each entry is the argument list after the event name (the ack is
 * appended by the test). At least 12 per event; `expect` optionally names the field the message
 * must mention.
 */
const MALFORMED: Record<RequestEvent, Array<{ label: string; args: unknown[]; mentions?: string }>> = {
  'join-event-room': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a number', args: [1] },
    { label: 'a string', args: ['1'] },
    { label: 'an array', args: [[{ eventId: 1 }]] },
    { label: 'two arguments', args: [{ eventId: 1 }, { eventId: 2 }] },
    { label: 'empty object', args: [{}], mentions: 'eventId' },
    { label: 'eventId null', args: [{ eventId: null }], mentions: 'eventId' },
    { label: 'negative id', args: [{ eventId: -1 }], mentions: 'eventId' },
    { label: 'fractional id', args: [{ eventId: 1.5 }], mentions: 'eventId' },
    { label: 'unsafe integer id', args: [{ eventId: 2 ** 53 }], mentions: 'eventId' },
    { label: 'id with a space', args: [{ eventId: 'rock night' }], mentions: 'eventId' },
    { label: '65-char id', args: [{ eventId: long(65) }], mentions: 'eventId' },
    { label: 'empty string id', args: [{ eventId: '' }], mentions: 'eventId' },
    { label: 'object id', args: [{ eventId: { $gt: 0 } }], mentions: 'eventId' },
    { label: 'unknown field', args: [{ eventId: 1, admin: true }], mentions: 'admin' },
    { label: '__proto__ field', args: [protoPayload({ eventId: 1 })], mentions: '__proto__' },
    { label: 'userId of the wrong type', args: [{ eventId: 1, userId: { id: 'v' } }], mentions: 'userId' },
  ],
  'leave-event-room': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a boolean', args: [true] },
    { label: 'a string', args: ['event:1'] },
    { label: 'an array', args: [[1]] },
    { label: 'empty object', args: [{}], mentions: 'eventId' },
    { label: 'boolean id', args: [{ eventId: false }], mentions: 'eventId' },
    { label: 'negative id', args: [{ eventId: -5 }], mentions: 'eventId' },
    { label: 'id with a slash', args: [{ eventId: 'a/b' }], mentions: 'eventId' },
    { label: '65-char id', args: [{ eventId: long(65) }], mentions: 'eventId' },
    { label: 'array id', args: [{ eventId: [1] }], mentions: 'eventId' },
    { label: 'unknown field', args: [{ eventId: 1, room: 'event:2' }], mentions: 'room' },
    { label: 'wrong key', args: [{ event: 1 }], mentions: 'eventId' },
  ],
  'lock-tickets': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a string', args: ['lock'] },
    { label: 'an array', args: [[{ eventId: 1, categoryId: 3, quantity: 1 }]] },
    { label: 'two arguments', args: [{ eventId: 1, categoryId: 3, quantity: 1 }, 'again'] },
    { label: 'empty object', args: [{}], mentions: 'quantity' },
    { label: 'no quantity', args: [{ eventId: 1, categoryId: 3 }], mentions: 'quantity' },
    { label: 'quantity 0', args: [{ eventId: 1, categoryId: 3, quantity: 0 }], mentions: 'quantity' },
    { label: 'quantity above MAX_TICKETS_PER_LOCK', args: [{ eventId: 1, categoryId: 3, quantity: 11 }], mentions: 'quantity' },
    { label: 'negative quantity', args: [{ eventId: 1, categoryId: 3, quantity: -1 }], mentions: 'quantity' },
    { label: 'fractional quantity', args: [{ eventId: 1, categoryId: 3, quantity: 1.5 }], mentions: 'quantity' },
    { label: 'string quantity', args: [{ eventId: 1, categoryId: 3, quantity: '1' }], mentions: 'quantity' },
    { label: 'null quantity (NaN/Infinity on the wire)', args: [{ eventId: 1, categoryId: 3, quantity: Number.NaN }], mentions: 'quantity' },
    { label: 'no eventId', args: [{ categoryId: 3, quantity: 1 }], mentions: 'eventId' },
    { label: 'bad categoryId', args: [{ eventId: 1, categoryId: '3; DROP', quantity: 1 }], mentions: 'categoryId' },
    { label: '65-char requestId', args: [{ eventId: 1, categoryId: 3, quantity: 1, requestId: long(65) }], mentions: 'requestId' },
    { label: 'numeric requestId', args: [{ eventId: 1, categoryId: 3, quantity: 1, requestId: 7 }], mentions: 'requestId' },
    { label: 'empty requestId', args: [{ eventId: 1, categoryId: 3, quantity: 1, requestId: '' }], mentions: 'requestId' },
    { label: 'unknown field', args: [{ eventId: 1, categoryId: 3, quantity: 1, price: 0 }], mentions: 'price' },
    { label: '__proto__ field', args: [protoPayload({ eventId: 1, categoryId: 3, quantity: 1 })], mentions: '__proto__' },
  ],
  'unlock-tickets': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a string', args: [LOCK_ID_PLACEHOLDER] },
    { label: 'an array', args: [[{ lockId: LOCK_ID_PLACEHOLDER }]] },
    { label: 'empty object', args: [{}], mentions: 'eventId' },
    { label: 'numeric lockId', args: [{ lockId: 5 }], mentions: 'lockId' },
    { label: 'empty lockId', args: [{ lockId: '' }], mentions: 'lockId' },
    { label: 'lockId with a path', args: [{ lockId: '../../etc/passwd' }], mentions: 'lockId' },
    { label: '65-char lockId', args: [{ lockId: long(65) }], mentions: 'lockId' },
    { label: 'quantity 0', args: [{ lockId: LOCK_ID_PLACEHOLDER, quantity: 0 }], mentions: 'quantity' },
    { label: 'quantity "all"', args: [{ lockId: LOCK_ID_PLACEHOLDER, quantity: 'all' }], mentions: 'quantity' },
    { label: 'both forms at once', args: [{ lockId: LOCK_ID_PLACEHOLDER, eventId: 1, categoryId: 3 }], mentions: 'eventId' },
    { label: 'category without event', args: [{ categoryId: 3 }], mentions: 'eventId' },
    { label: 'event without category', args: [{ eventId: 1 }], mentions: 'categoryId' },
    { label: 'fractional quantity by category', args: [{ eventId: 1, categoryId: 3, quantity: 0.5 }], mentions: 'quantity' },
    { label: 'unknown field', args: [{ lockId: LOCK_ID_PLACEHOLDER, force: true }], mentions: 'force' },
    { label: 'empty seatIds', args: [{ lockId: LOCK_ID_PLACEHOLDER, seatIds: [] }], mentions: 'seatIds' },
    { label: 'repeated seatIds', args: [{ lockId: LOCK_ID_PLACEHOLDER, seatIds: ['A1', 'A1'] }], mentions: 'seatIds' },
    { label: 'quantity and seatIds', args: [{ lockId: LOCK_ID_PLACEHOLDER, quantity: 1, seatIds: ['A1'] }], mentions: 'seatIds' },
    { label: 'seatIds by category', args: [{ eventId: 1, categoryId: 3, seatIds: ['A1'] }], mentions: 'seatIds' },
  ],
  'extend-lock': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a number', args: [7] },
    { label: 'a string', args: [LOCK_ID_PLACEHOLDER] },
    { label: 'an array', args: [[LOCK_ID_PLACEHOLDER]] },
    { label: 'empty object', args: [{}], mentions: 'lockId' },
    { label: 'numeric lockId', args: [{ lockId: 1 }], mentions: 'lockId' },
    { label: 'empty lockId', args: [{ lockId: '' }], mentions: 'lockId' },
    { label: 'lockId with a space', args: [{ lockId: 'a b' }], mentions: 'lockId' },
    { label: '65-char lockId', args: [{ lockId: long(65) }], mentions: 'lockId' },
    { label: 'object lockId', args: [{ lockId: { id: LOCK_ID_PLACEHOLDER } }], mentions: 'lockId' },
    { label: 'unknown field', args: [{ lockId: LOCK_ID_PLACEHOLDER, minutes: 60 }], mentions: 'minutes' },
    { label: 'two arguments', args: [{ lockId: LOCK_ID_PLACEHOLDER }, { lockId: LOCK_ID_PLACEHOLDER }] },
  ],
  'get-my-locks': [
    { label: 'null', args: [null] },
    { label: 'a number', args: [5] },
    { label: 'a string', args: ['all'] },
    { label: 'an array', args: [[]] },
    { label: 'a boolean', args: [false] },
    { label: 'two arguments', args: [{}, {}] },
    { label: 'unknown field', args: [{ all: true }], mentions: 'all' },
    { label: 'userId object', args: [{ userId: {} }], mentions: 'userId' },
    { label: 'empty userId', args: [{ userId: '' }], mentions: 'userId' },
    { label: '129-char userId', args: [{ userId: long(129) }], mentions: 'userId' },
    { label: 'boolean userId', args: [{ userId: true }], mentions: 'userId' },
    { label: 'null userId', args: [{ userId: null }], mentions: 'userId' },
  ],
  heartbeat: [
    { label: 'null', args: [null] },
    { label: 'a number', args: [Date.now()] },
    { label: 'a string', args: ['ping'] },
    { label: 'an array', args: [[{}]] },
    { label: 'a boolean', args: [true] },
    { label: 'two arguments', args: [{}, 'ping'] },
    { label: 'unknown field', args: [{ ping: 1 }], mentions: 'ping' },
    { label: 'timestamp field', args: [{ timestamp: Date.now() }], mentions: 'timestamp' },
    { label: 'userId array', args: [{ userId: ['me'] }], mentions: 'userId' },
    { label: 'fractional userId', args: [{ userId: 1.5 }], mentions: 'userId' },
    { label: 'many unknown fields', args: [Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]))], mentions: 'k0' },
    { label: '__proto__ field', args: [protoPayload({})], mentions: '__proto__' },
  ],
  'get-seat-map': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a number', args: [1] },
    { label: 'a string', args: ['1'] },
    { label: 'an array', args: [[{ eventId: 1 }]] },
    { label: 'empty object', args: [{}], mentions: 'eventId' },
    { label: 'negative id', args: [{ eventId: -1 }], mentions: 'eventId' },
    { label: 'id with a space', args: [{ eventId: 'rock night' }], mentions: 'eventId' },
    { label: '65-char id', args: [{ eventId: long(65) }], mentions: 'eventId' },
    { label: 'object id', args: [{ eventId: { $gt: 0 } }], mentions: 'eventId' },
    { label: 'unknown field', args: [{ eventId: 1, version: 3 }], mentions: 'version' },
    { label: '__proto__ field', args: [protoPayload({ eventId: 1 })], mentions: '__proto__' },
  ],
  'hold-seats': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a string', args: ['A1'] },
    { label: 'an array', args: [['A1']] },
    { label: 'no seatIds', args: [{ eventId: 1 }], mentions: 'seatIds' },
    { label: 'empty seatIds', args: [{ eventId: 1, seatIds: [] }], mentions: 'seatIds' },
    { label: 'repeated seat', args: [{ eventId: 1, seatIds: ['A1', 'A1'] }], mentions: 'seatIds' },
    { label: '1,000 seats', args: [{ eventId: 1, seatIds: Array.from({ length: 1000 }, (_, i) => `S${i}`) }], mentions: 'seatIds' },
    { label: 'more than MAX_TICKETS_PER_LOCK seats', args: [{ eventId: 1, seatIds: Array.from({ length: 11 }, (_, i) => `S${i}`) }], mentions: 'seatIds' },
    { label: 'numeric seat ids', args: [{ eventId: 1, seatIds: [1, 2] }], mentions: 'seatIds' },
    { label: 'null seat id', args: [{ eventId: 1, seatIds: [null] }], mentions: 'seatIds' },
    { label: 'seatIds a string', args: [{ eventId: 1, seatIds: 'A1' }], mentions: 'seatIds' },
    { label: 'seat id with a space', args: [{ eventId: 1, seatIds: ['A 1'] }], mentions: 'seatIds' },
    { label: '33-char seat id', args: [{ eventId: 1, seatIds: [long(33)] }], mentions: 'seatIds' },
    { label: 'no eventId', args: [{ seatIds: ['A1'] }], mentions: 'eventId' },
    { label: 'bad lockId', args: [{ eventId: 1, seatIds: ['A1'], lockId: 'a b' }], mentions: 'lockId' },
    { label: 'unknown field', args: [{ eventId: 1, seatIds: ['A1'], categoryId: 1 }], mentions: 'categoryId' },
    { label: '__proto__ field', args: [protoPayload({ eventId: 1, seatIds: ['A1'] })], mentions: '__proto__' },
  ],
  'join-queue': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a number', args: [1] },
    { label: 'a string', args: ['queue:1'] },
    { label: 'an array', args: [[{ eventId: 1 }]] },
    { label: 'two arguments', args: [{ eventId: 1 }, { eventId: 2 }] },
    { label: 'empty object', args: [{}], mentions: 'eventId' },
    { label: 'negative id', args: [{ eventId: -1 }], mentions: 'eventId' },
    { label: 'id with a space', args: [{ eventId: 'rock night' }], mentions: 'eventId' },
    { label: '65-char id', args: [{ eventId: long(65) }], mentions: 'eventId' },
    { label: 'position field', args: [{ eventId: 1, position: 1 }], mentions: 'position' },
    { label: '__proto__ field', args: [protoPayload({ eventId: 1 })], mentions: '__proto__' },
  ],
  'leave-queue': [
    { label: 'no payload', args: [] },
    { label: 'null', args: [null] },
    { label: 'a boolean', args: [true] },
    { label: 'a string', args: ['1'] },
    { label: 'an array', args: [[1]] },
    { label: 'empty object', args: [{}], mentions: 'eventId' },
    { label: 'boolean id', args: [{ eventId: false }], mentions: 'eventId' },
    { label: 'fractional id', args: [{ eventId: 1.5 }], mentions: 'eventId' },
    { label: 'id with a slash', args: [{ eventId: 'a/b' }], mentions: 'eventId' },
    { label: 'object id', args: [{ eventId: { $ne: 0 } }], mentions: 'eventId' },
    { label: 'unknown field', args: [{ eventId: 1, everyone: true }], mentions: 'everyone' },
    { label: 'wrong key', args: [{ event: 1 }], mentions: 'eventId' },
  ],
};

/** Replaces the placeholder with the id of the lock the test user holds. */
function withLockId(value: unknown, lockId: string): unknown {
  if (value === LOCK_ID_PLACEHOLDER) return lockId;
  if (Array.isArray(value)) return value.map((v) => withLockId(v, lockId));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, { value: withLockId((value as Record<string, unknown>)[key], lockId), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

function call(socket: TestSocket, event: string, args: unknown[]): Promise<Answer<unknown>> {
  return new Promise((resolve) => emitRaw(socket, event, ...args, resolve));
}

async function everyCount(app: TestApp): Promise<Availability[]> {
  const [a, b] = await Promise.all([getJson<Availability[]>(app, '/events/1/availability'), getJson<Availability[]>(app, '/events/fest-2027/availability')]);
  return [...a.body, ...b.body].map(({ timestamp: _ignored, ...rest }) => rest as Availability);
}

describe('payload validation', () => {
  const app = useApp();

  for (const [event, cases] of Object.entries(MALFORMED) as Array<[RequestEvent, (typeof MALFORMED)[RequestEvent]]>) {
    it(`${event}: ${cases.length} malformed payloads are refused with VALIDATION_FAILED and change nothing`, async () => {
      expect(cases.length).toBeGreaterThanOrEqual(12);
      const { socket } = await connect(app.socketUrl, { userId: `validator-${event}` });
      const held = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 2 }));
      const countsBefore = await everyCount(app);
      const locksBefore = ok(await request(socket, 'get-my-locks')).locks;
      const responses: unknown[] = [];
      (socket as unknown as { on(e: string, l: (a: unknown) => void): void }).on(RESPONSE_EVENTS[event], (answer) => responses.push(answer));

      for (const { label, args, mentions } of cases) {
        const answer = await call(socket, event, args.map((arg) => withLockId(arg, held.lockId)));
        expect(answer, label).toEqual({ success: false, code: 'VALIDATION_FAILED', message: anyString() });
        if (!answer.success && mentions) expect(answer.message, label).toContain(mentions);
        expect(socket.connected, label).toBe(true);
      }

      expect(await everyCount(app)).toEqual(countsBefore);
      expect(ok(await request(socket, 'get-my-locks')).locks).toEqual(locksBefore.map((l) => ({ ...l, expiresInSeconds: anyNumber() })));
      // Every refusal also went out as <event>-response.
      expect(responses.filter((r) => (r as Answer<unknown>).success === false)).toHaveLength(cases.length);
      ok(await request(socket, 'unlock-tickets', { lockId: held.lockId }));
    });
  }

  it('refuses a payload above MAX_PAYLOAD_BYTES at the transport', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'big-payload' });
    const gone = disconnected(socket);
    emitRaw(socket, 'lock-tickets', { eventId: 1, categoryId: 3, quantity: 1, requestId: long(app.config.maxPayloadBytes + 1) });
    expect(await gone).toBe('transport close');
    const { socket: again } = await connect(app.socketUrl, { userId: 'big-payload' });
    expect(ok(await request(again, 'get-my-locks')).locks).toEqual([]);
  });

  it('ignores unknown events without breaking the socket', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'explorer' });
    emitRaw(socket, 'drop-database', { please: true });
    emitRaw(socket, 'constructor');
    emitRaw(socket, '__proto__', {});
    expect(ok(await request(socket, 'heartbeat')).timestamp).toEqual(anyString());
  });
});
