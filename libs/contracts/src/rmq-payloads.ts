import { z } from 'zod';
import type { CatalogId, ErrorCode, Lock, LockStatus } from '#lock-domain';
import { catalogIdSchema as catalogId, checkWith, fieldError as required, isPlainObject, lockIdSchema as lockId, payloadShapeProblem, type PayloadCheck } from './schema-parts.js';
import { RESPONSE_EVENTS, type OrderNotice } from './socket-events.js';

/**
 * The RabbitMQ side of the contract (CONTRACT §4), in the NestJS RMQ transport format
 * (`{ pattern, data, id? }`, replies to `replyTo` with the same `correlationId`): what the service
 * consumes on `REALTIME_QUEUE`, what it asks the Events service on `EVENTS_QUEUE`, and the lifecycle
 * events it publishes on `LOCK_EVENTS_EXCHANGE`.
 *
 * Unlike socket payloads, unknown fields are ignored rather than refused: these come from other
 * services, which must be able to add a field without every message being refused.
 */

/** Patterns consumed on `REALTIME_QUEUE`. */
export const RMQ_PATTERNS = {
  confirmLock: 'confirm-ticket-lock',
  releaseLock: 'release-ticket-lock',
  getLock: 'get-ticket-lock',
  notifyUser: 'notify-user',
  broadcastEvent: 'broadcast-event',
  inventoryChanged: 'inventory-changed',
  // The original platform's patterns (CONTRACT §9), so its orders-service works unchanged.
  /** `{ lockId, userId? }` → a bare boolean. */
  originalConfirmLock: 'confirm-lock',
  orderCompleted: 'order-completed',
  orderCancelled: 'order-cancelled',
  /** → the `/stats` body. */
  realtimeStats: 'get-realtime-stats',
} as const;

export type RmqPattern = (typeof RMQ_PATTERNS)[keyof typeof RMQ_PATTERNS];

/** Requests this service sends to the Events service on `EVENTS_QUEUE`. */
export const EVENTS_PATTERNS = {
  categories: 'get-ticket-categories',
  availability: 'get-ticket-availability',
  /** Reserved seating (CONTRACT §6): `{ eventId }` → the seat maps of the event's reserved categories. */
  seatMap: 'get-seat-map',
} as const;

/** Routing keys (and `pattern`) of the lifecycle events on `LOCK_EVENTS_EXCHANGE`. */
export const LOCK_EVENT_PATTERNS = {
  created: 'ticket-lock.created',
  expired: 'ticket-lock.expired',
  released: 'ticket-lock.released',
  confirmed: 'ticket-lock.confirmed',
} as const;

export type LockEventPattern = (typeof LOCK_EVENT_PATTERNS)[keyof typeof LOCK_EVENT_PATTERNS];

/** Body of a lifecycle event; its AMQP `messageId` is unique per event (deduplicate on it). */
export interface LockEventMessage {
  pattern: LockEventPattern;
  data: Lock;
}

/** Free text from another service (an order id, a reason), stored on the lock. */
const text = (max: number) => {
  const rule = `must be a string of 1-${max} characters`;
  return z.string({ error: rule }).min(1, rule).max(max, rule);
};

/** Orders may number its orders: an integer id is kept as its decimal string. */
const ORDER_ID_RULE = 'must be a string of 1-128 characters or an integer';
const orderId = z.union([text(128), z.int({ error: ORDER_ID_RULE }).transform(String)], { error: ORDER_ID_RULE });

export const MAX_RMQ_USER_ID_LENGTH = 128;
const USER_ID_RULE = `must be a string of 1-${MAX_RMQ_USER_ID_LENGTH} characters or an integer`;
const userId = z.union([z.string({ error: USER_ID_RULE }).min(1, USER_ID_RULE).max(MAX_RMQ_USER_ID_LENGTH, USER_ID_RULE), z.int({ error: USER_ID_RULE }).transform(String)], {
  error: required(USER_ID_RULE),
});

/**
 * Names a pushed message may not take: Socket.IO's reserved events (a client would treat them as
 * connection state) and this service's own server→client events (they would be forged).
 */
export const RESERVED_SOCKET_EVENTS: ReadonlySet<string> = new Set([
  'connect',
  'connect_error',
  'connection',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
  'error',
  'message',
  'connected',
  'availability-update',
  'lock-expired',
  'lock-released',
  'lock-confirmed',
  'token-expired',
  'joined-event-room',
  'left-event-room',
  'order-completed',
  'order-cancelled',
  'queue-update',
  'queue-admitted',
  ...Object.values(RESPONSE_EVENTS),
]);

const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const EVENT_NAME_RULE = 'must be an event name of 1-64 characters [A-Za-z0-9_.:-] starting with a letter';
const socketEventName = z
  .string({ error: required(EVENT_NAME_RULE) })
  .regex(EVENT_NAME_PATTERN, EVENT_NAME_RULE)
  .refine((name) => !RESERVED_SOCKET_EVENTS.has(name), { error: (issue) => `"${String(issue.input)}" is a reserved event name` });

const totalTickets = z
  .int({ error: required('must be a non-negative integer') })
  .min(0, 'must be a non-negative integer')
  .max(100_000_000, 'must be at most 100000000');

/** What is pushed to sockets as is: bounded, so it can neither overflow the encoder nor flood clients. */
const reemitted = z.unknown().superRefine((value, ctx) => {
  const problem = payloadShapeProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** An order as the original orders-service numbers it: echoed to the buyer in the form it came. */
const ORDER_REF_RULE = 'must be a string of 1-128 characters or a non-negative integer';
const orderRef = z.union([text(128), z.int({ error: ORDER_REF_RULE }).min(0, ORDER_REF_RULE)], { error: required(ORDER_REF_RULE) });
const orderQuantity = z.int({ error: required('must be a positive integer') }).min(1, 'must be a positive integer').max(100_000_000, 'must be at most 100000000');
const orderEvent = () =>
  message(
    { orderId: orderRef, eventId: catalogId, categoryId: catalogId, quantity: orderQuantity, userId },
    '{ orderId, eventId, categoryId, quantity, userId }',
  );

function message<Shape extends z.ZodRawShape>(shape: Shape, hint: string) {
  return z.custom<Record<string, unknown>>(isPlainObject, { error: `data must be an object ${hint}` }).pipe(z.object(shape));
}

/** Schemas of the `data` of every pattern consumed on `REALTIME_QUEUE`. */
export const RMQ_PAYLOAD_SCHEMAS = {
  [RMQ_PATTERNS.confirmLock]: message({ lockId, orderId: orderId.optional() }, '{ lockId, orderId? }'),
  [RMQ_PATTERNS.releaseLock]: message({ lockId, reason: text(200).optional() }, '{ lockId, reason? }'),
  [RMQ_PATTERNS.getLock]: message({ lockId }, '{ lockId }'),
  [RMQ_PATTERNS.notifyUser]: message({ userId, type: socketEventName, payload: reemitted }, '{ userId, type, payload }'),
  [RMQ_PATTERNS.broadcastEvent]: message({ eventId: catalogId, type: socketEventName, payload: reemitted }, '{ eventId, type, payload }'),
  [RMQ_PATTERNS.inventoryChanged]: message({ eventId: catalogId, categoryId: catalogId, totalTickets }, '{ eventId, categoryId, totalTickets }'),
  [RMQ_PATTERNS.originalConfirmLock]: message({ lockId, userId: userId.optional() }, '{ lockId, userId? }'),
  [RMQ_PATTERNS.orderCompleted]: orderEvent(),
  [RMQ_PATTERNS.orderCancelled]: orderEvent(),
  // The original asks with no data (or anything): nothing to check.
  [RMQ_PATTERNS.realtimeStats]: z.unknown(),
} as const;

export type RmqPayloads = { [P in RmqPattern]: z.output<(typeof RMQ_PAYLOAD_SCHEMAS)[P]> };

export type ConfirmLockMessage = RmqPayloads['confirm-ticket-lock'];
export type ReleaseLockMessage = RmqPayloads['release-ticket-lock'];
export type GetLockMessage = RmqPayloads['get-ticket-lock'];
export type NotifyUserMessage = RmqPayloads['notify-user'];
export type BroadcastEventMessage = RmqPayloads['broadcast-event'];
export type InventoryChangedMessage = RmqPayloads['inventory-changed'];
export type OriginalConfirmLockMessage = RmqPayloads['confirm-lock'];
export type OrderEventMessage = RmqPayloads['order-completed'];

/** Pushed to the buyer's sockets on `order-completed` / `order-cancelled` (the original's payload). */
export type OrderNotification = OrderNotice;

/** Validates one message's `data`; a failure names every offending field. */
export function checkRmqPayload<P extends RmqPattern>(pattern: P, data: unknown): PayloadCheck<RmqPayloads[P]> {
  return checkWith<RmqPayloads[P]>(RMQ_PAYLOAD_SCHEMAS[pattern], data, 'Invalid data');
}

/** Reply to `confirm-ticket-lock` / `release-ticket-lock`. */
export type LockCommandReply =
  | { success: true; lockId: string; status: LockStatus }
  | { success: false; lockId?: string; status?: LockStatus; orderId?: string; code: ErrorCode; message: string };

/** Reply to `get-ticket-lock`: the lock itself, or a refusal. */
export type GetLockReply = Lock | { success: false; code: ErrorCode; message: string };

/** Reply to a request sent for an event-style pattern (`notify-user`, `broadcast-event`, `inventory-changed`). */
export type AcceptedReply = { success: true } | { success: false; code: ErrorCode; message: string };

// --- Events service answers (validated: a malformed answer is treated as no answer) ---------------

const eventsCount = z.int().min(0).max(100_000_000);
// A display name is cosmetic: a bad one is dropped rather than failing the whole answer.
const displayName = z.string().min(1).max(200).optional().catch(undefined);

/** This service's own Events contract: `{ categoryId, name?, totalTickets, availableTickets? }`. */
const contractCategory = z.object({ categoryId: catalogId, name: displayName, totalTickets: eventsCount, availableTickets: eventsCount.optional() });

/**
 * The original events-service's TicketCategory entity: `{ id, categoryName, totalSeats, reservedSeats,
 * availableSeats, price, … }`. It is the sales ledger: `reservedSeats` are sold tickets.
 */
const entityCategory = z
  .object({
    id: catalogId,
    categoryName: displayName,
    totalSeats: eventsCount,
    reservedSeats: eventsCount.optional(),
    availableSeats: eventsCount.optional().catch(undefined),
    isActive: z.boolean().optional().catch(undefined),
  })
  .transform((c) => ({
    categoryId: c.id,
    ...(c.categoryName === undefined ? {} : { name: c.categoryName }),
    totalTickets: c.totalSeats,
    ...(c.availableSeats === undefined ? {} : { availableTickets: c.availableSeats }),
    ...(c.reservedSeats === undefined ? {} : { soldTickets: c.reservedSeats }),
    ...(c.isActive === false ? { inactive: true as const } : {}),
  }));

/** A category in either shape, normalised to ours (`soldTickets` only when the Events service is a ledger). */
const eventsCategory = z.union([contractCategory, entityCategory]);

/** `get-ticket-availability` → this (either shape), or `null` when there is no such event or category. */
export const eventsAvailabilityReplySchema = z.intersection(z.object({ eventId: catalogId.optional() }), eventsCategory).nullable();

/** `get-ticket-categories` → this (either shape), or `null` when there is no such event. */
export const eventsCategoriesReplySchema = z.array(eventsCategory).nullable();

/**
 * `get-seat-map` → this (`categories: []` when the event has no reserved category), or `null` when
 * there is no such event. Seat ids and rows are checked again where the layout is defined.
 */
export const eventsSeatMapReplySchema = z
  .object({
    eventId: catalogId.optional(),
    categories: z.array(
      z.object({
        categoryId: catalogId,
        rows: z.array(z.object({ row: z.string(), seats: z.array(z.string()).max(100_000) })).max(100_000),
        blocked: z.array(z.string()).optional(),
      }),
    ),
  })
  .nullable();

export type EventsSeatMapReply = z.output<typeof eventsSeatMapReplySchema>;
export type EventsAvailabilityReply = z.output<typeof eventsAvailabilityReplySchema>;
export type EventsCategoriesReply = z.output<typeof eventsCategoriesReplySchema>;

export interface EventsAvailabilityRequest {
  eventId: CatalogId;
  categoryId: CatalogId;
}

export interface EventsCategoriesRequest {
  eventId: CatalogId;
}
