import { z } from 'zod';
import { SEAT_ID_PATTERN } from '#lock-domain';
import { catalogIdSchema as catalogId, checkWith, fieldError, isPlainObject, lockIdSchema as lockId, type PayloadCheck } from './schema-parts.js';

/**
 * Zod schemas for every client→server payload of the Socket.IO `/realtime` namespace (CONTRACT §2).
 *
 * Why zod rather than class-validator: payloads arrive as plain JSON (no classes to decorate), the
 * contract is shared with clients and tests as types inferred from the same schemas, zod 4 is already
 * the config and catalog validator of this repository, and it needs no reflection or transformation
 * step on the hot path.
 *
 * Rules: every payload is a plain object with no unknown field; ids are non-negative safe integers or
 * strings of 1–64 characters `[A-Za-z0-9_:-]`; `quantity` is an integer 1…`maxTicketsPerLock`;
 * `requestId` is a string of at most 64 characters. A `userId` may appear in any payload, but only to
 * be compared with the authenticated user (the gateway answers `FORBIDDEN` when it differs).
 */

/** Options the schemas depend on. */
export interface SocketPayloadOptions {
  /** `MAX_TICKETS_PER_LOCK`: the largest `quantity` a request may carry. */
  maxTicketsPerLock: number;
}

/** Length limits that are not configuration. */
export const MAX_REQUEST_ID_LENGTH = 64;
export const MAX_USER_ID_LENGTH = 128;

const REQUEST_ID_RULE = `must be a string of 1-${MAX_REQUEST_ID_LENGTH} characters`;
const requestId = z.string({ error: REQUEST_ID_RULE }).min(1, REQUEST_ID_RULE).max(MAX_REQUEST_ID_LENGTH, REQUEST_ID_RULE);

const USER_ID_RULE = `must be your own user id (a string of 1-${MAX_USER_ID_LENGTH} characters or an integer)`;
const userId = z
  .union([z.string({ error: USER_ID_RULE }).min(1, USER_ID_RULE).max(MAX_USER_ID_LENGTH, USER_ID_RULE), z.int({ error: USER_ID_RULE })], {
    error: USER_ID_RULE,
  })
  .optional();

const quantityOf = (max: number) => {
  const rule = `must be an integer from 1 to ${max}`;
  return z.int({ error: fieldError(rule) }).min(1, rule).max(max, rule);
};

/**
 * A strict payload object: anything but a plain object is refused with `shapeHint`, and so is any
 * field the contract does not name.
 */
function payload<Shape extends z.ZodRawShape>(shape: Shape, shapeHint: string) {
  const notAnObject = `payload must be an object ${shapeHint}`;
  return z.custom<Record<string, unknown>>(isPlainObject, { error: notAnObject }).pipe(
    z.strictObject(shape, {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? `unexpected field(s) ${listKeys(issue.keys)}; expected ${shapeHint}` : notAnObject,
    }),
  );
}

/** An empty payload: `{}` or `{ userId }`, and also no payload at all. */
function emptyPayload() {
  const schema = payload({ userId }, '{}');
  return z.unknown().transform((value, ctx): z.output<typeof schema> => (value === undefined ? {} : parseInto(schema, value, ctx)));
}

/**
 * `{ lockId, … }` or `{ eventId, categoryId, … }`: the form is chosen by the presence of `key`, so a
 * mistake is reported against the form the client meant instead of as "matches neither".
 */
function eitherByPresenceOf<A extends z.ZodType, B extends z.ZodType>(key: string, withKey: A, without: B) {
  return z.unknown().transform(
    (value, ctx): z.output<A> | z.output<B> => (isPlainObject(value) && key in value ? parseInto(withKey, value, ctx) : parseInto(without, value, ctx)),
  );
}

/** Parses with `schema`, forwarding its issues (paths and messages intact) to the outer context. */
function parseInto<S extends z.ZodType>(schema: S, value: unknown, ctx: z.core.$RefinementCtx): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
}

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map((key) => JSON.stringify(key.length > 32 ? `${key.slice(0, 32)}…` : key));
  return shown.join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
}

const SEAT_ID_RULE = 'must be seat ids: strings of 1-32 characters [A-Za-z0-9_:-]';
/** `seatIds` (CONTRACT §6): 1…max distinct seat ids; empty, repeated, too many or non-strings are refused. */
const seatIdsOf = (max: number) =>
  z
    .array(z.string({ error: SEAT_ID_RULE }).regex(SEAT_ID_PATTERN, SEAT_ID_RULE), { error: fieldError(`must be an array of 1-${max} seat ids`) })
    .min(1, `must name 1-${max} seats`)
    .max(max, `must name 1-${max} seats`)
    .refine((ids) => new Set(ids).size === ids.length, 'must not name a seat twice');

/** Builds the schemas for one configuration (the `quantity` bound comes from `MAX_TICKETS_PER_LOCK`). */
export function createSocketPayloadSchemas(options: SocketPayloadOptions) {
  const quantity = quantityOf(options.maxTicketsPerLock);
  const seatIds = seatIdsOf(options.maxTicketsPerLock);
  const room = payload({ eventId: catalogId, userId }, '{ eventId }');
  const unlockByLockId = payload(
    { lockId, quantity: quantity.optional(), seatIds: seatIds.optional(), userId },
    '{ lockId, quantity? } or { lockId, seatIds }',
  ).refine((p) => p.quantity === undefined || p.seatIds === undefined, { message: 'quantity and seatIds exclude each other', path: ['seatIds'] });
  const unlockByCategory = payload(
    { eventId: catalogId, categoryId: catalogId, quantity: quantity.optional(), userId },
    '{ eventId, categoryId, quantity? } (or { lockId, quantity? })',
  );
  return {
    'join-event-room': room,
    'leave-event-room': room,
    'lock-tickets': payload(
      { eventId: catalogId, categoryId: catalogId, quantity, requestId: requestId.optional(), userId },
      '{ eventId, categoryId, quantity, requestId? }',
    ),
    'unlock-tickets': eitherByPresenceOf('lockId', unlockByLockId, unlockByCategory),
    'extend-lock': payload({ lockId, userId }, '{ lockId }'),
    'get-my-locks': emptyPayload(),
    heartbeat: emptyPayload(),
    // Waiting room (CONTRACT §7).
    'join-queue': room,
    'leave-queue': room,
    // Reserved seating (CONTRACT §6).
    'get-seat-map': room,
    'hold-seats': payload(
      { eventId: catalogId, seatIds, lockId: lockId.optional(), requestId: requestId.optional(), userId },
      '{ eventId, seatIds, lockId?, requestId? }',
    ),
  } as const;
}

export type SocketPayloadSchemas = ReturnType<typeof createSocketPayloadSchemas>;

/** Every client→server event of the contract. */
export type RequestEvent = keyof SocketPayloadSchemas;

/** The validated payload of each event. */
export type RequestPayloads = { [E in RequestEvent]: z.output<SocketPayloadSchemas[E]> };

export type JoinEventRoomPayload = RequestPayloads['join-event-room'];
export type LeaveEventRoomPayload = RequestPayloads['leave-event-room'];
export type LockTicketsPayload = RequestPayloads['lock-tickets'];
export type UnlockTicketsPayload = RequestPayloads['unlock-tickets'];
export type ExtendLockPayload = RequestPayloads['extend-lock'];
export type GetMyLocksPayload = RequestPayloads['get-my-locks'];
export type HeartbeatPayload = RequestPayloads['heartbeat'];
export type JoinQueuePayload = RequestPayloads['join-queue'];
export type LeaveQueuePayload = RequestPayloads['leave-queue'];
export type GetSeatMapPayload = RequestPayloads['get-seat-map'];
export type HoldSeatsPayload = RequestPayloads['hold-seats'];

export type { PayloadCheck };

/**
 * Validates one event's payload. On failure the message names every offending field, e.g.
 * `quantity must be an integer from 1 to 10; requestId must be a string of 1-64 characters`.
 */
export function checkPayload<E extends RequestEvent>(schemas: SocketPayloadSchemas, event: E, data: unknown): PayloadCheck<RequestPayloads[E]> {
  return checkWith<RequestPayloads[E]>(schemas[event], data, 'Invalid payload');
}
