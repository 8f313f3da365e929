import type { LockChanges } from './lock-store.js';

/** Every error code of CONTRACT §2. Codes are for programs, messages for people. */
export const ERROR_CODES = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'VALIDATION_FAILED',
  'EVENT_NOT_FOUND',
  'CATEGORY_NOT_FOUND',
  'INSUFFICIENT_TICKETS',
  'DUPLICATE_LOCK',
  'TOO_MANY_LOCKS',
  'LOCK_NOT_FOUND',
  'LOCK_NOT_ACTIVE',
  'LOCK_EXPIRED',
  'NOT_LOCK_OWNER',
  'RATE_LIMITED',
  'EVENTS_UNAVAILABLE',
  'INTERNAL_ERROR',
  // Waiting room (CONTRACT §7).
  'ADMISSION_REQUIRED',
  'QUEUE_NOT_FOUND',
  'QUEUE_CLOSED',
  // Reserved seating (CONTRACT §6).
  'SEATS_UNAVAILABLE',
  'SEAT_NOT_FOUND',
  'ORPHAN_SEAT',
  'NO_ADJACENT_SEATS',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  UNAUTHORIZED: 'Authentication required',
  FORBIDDEN: 'Not allowed',
  VALIDATION_FAILED: 'Invalid request',
  EVENT_NOT_FOUND: 'Event not found',
  CATEGORY_NOT_FOUND: 'Ticket category not found',
  INSUFFICIENT_TICKETS: 'Not enough tickets available',
  DUPLICATE_LOCK: 'You already hold tickets in this category',
  TOO_MANY_LOCKS: 'Too many active locks',
  LOCK_NOT_FOUND: 'Lock not found',
  LOCK_NOT_ACTIVE: 'Lock is no longer active',
  LOCK_EXPIRED: 'Lock has expired',
  NOT_LOCK_OWNER: 'This lock belongs to another user',
  RATE_LIMITED: 'Too many requests, slow down',
  EVENTS_UNAVAILABLE: 'Event information is temporarily unavailable',
  INTERNAL_ERROR: 'Internal error, please retry',
  ADMISSION_REQUIRED: 'This event has a waiting room: join the queue and wait for your turn',
  QUEUE_NOT_FOUND: 'This event has no waiting room',
  QUEUE_CLOSED: 'The waiting room of this event is closed',
  SEATS_UNAVAILABLE: 'Some of these seats are not available',
  SEAT_NOT_FOUND: 'Some of these seats do not exist',
  ORPHAN_SEAT: 'This choice would leave a single seat on its own',
  NO_ADJACENT_SEATS: 'Not enough adjacent seats are free',
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * A refusal the client can act on. Thrown by the domain and the stores; the gateway and the
 * RabbitMQ handlers turn it into `{ success: false, code, message }`. Anything else that is thrown
 * is an internal fault and reaches clients only as `INTERNAL_ERROR`.
 */
export class LockError extends Error {
  override readonly name = 'LockError';

  constructor(
    readonly code: ErrorCode,
    message: string = DEFAULT_MESSAGES[code],
    /** The lock's status where the refusal is about one (e.g. `LOCK_NOT_ACTIVE`). */
    readonly status?: string,
    /**
     * Set by the stores when the refused call still recorded a due lock's expiry (unlock, extend,
     * late confirm of a lock past `expiresAt`), so the owner hears of it exactly once.
     */
    readonly changes?: LockChanges,
    /** `LOCK_NOT_ACTIVE` on a confirm of a lock already CONFIRMED for another order: that order. */
    readonly orderId?: string,
    /** The seats a seat refusal is about (CONTRACT §6: `SEATS_UNAVAILABLE`, `SEAT_NOT_FOUND`, `ORPHAN_SEAT`). */
    readonly seatIds?: string[],
  ) {
    super(message);
  }
}

export function defaultMessage(code: ErrorCode): string {
  return DEFAULT_MESSAGES[code];
}
