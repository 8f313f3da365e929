import type { CatalogId } from './ids.js';

export const LOCK_STATUSES = ['ACTIVE', 'EXPIRED', 'CONFIRMED', 'RELEASED'] as const;
export type LockStatus = (typeof LOCK_STATUSES)[number];
export type TerminalStatus = Exclude<LockStatus, 'ACTIVE'>;

/**
 * What a lock request asks for. A quantity on a general-admission category; on a reserved category
 * a quantity means *best available* (the store picks the seats). Named seats go through
 * `LockStore.holdSeats` (their category follows from the seats). A seat lock's `quantity` is its
 * number of seats and its record lists them in `seats`.
 */
export type Hold = { kind: 'quantity'; quantity: number };

/** A lock as clients and other services see it (CONTRACT §1). Times are ISO 8601. */
export interface Lock {
  lockId: string;
  eventId: CatalogId;
  categoryId: CatalogId;
  quantity: number;
  userId: string;
  sessionId: string;
  status: LockStatus;
  createdAt: string;
  expiresAt: string;
  /** Whole seconds left while ACTIVE, `0` otherwise. */
  expiresInSeconds: number;
  confirmedAt?: string;
  releasedAt?: string;
  orderId?: string;
  reason?: string;
  /** The held seats of a lock on a reserved category (CONTRACT §6), in the order they were taken. */
  seats?: string[];
}

/**
 * A lock as the stores keep it: epoch milliseconds, and the status as last *recorded*.
 * A recorded ACTIVE lock whose `expiresAt` has passed is EXPIRED for every reader
 * ({@link effectiveStatus}); the sweep only makes that visible to owners and rooms.
 */
export interface LockRecord {
  lockId: string;
  eventId: CatalogId;
  categoryId: CatalogId;
  quantity: number;
  userId: string;
  sessionId: string;
  status: LockStatus;
  createdAt: number;
  expiresAt: number;
  confirmedAt?: number;
  releasedAt?: number;
  orderId?: string;
  reason?: string;
  requestId?: string;
  /** Seat locks only: the seats held (or sold, or last held once terminal). */
  seats?: string[];
}

const TRANSITIONS: Record<LockStatus, readonly LockStatus[]> = {
  ACTIVE: ['EXPIRED', 'CONFIRMED', 'RELEASED'],
  // The late confirm: an expired lock whose tickets are still free can be bought (LockStore.confirm).
  EXPIRED: ['CONFIRMED'],
  CONFIRMED: [],
  RELEASED: [],
};

/** ACTIVE → EXPIRED | CONFIRMED | RELEASED; those are terminal, except the late confirm EXPIRED → CONFIRMED. */
export function canTransition(from: LockStatus, to: LockStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Exact expiry: an ACTIVE lock stops being ACTIVE at `expiresAt`, sweep or not. */
export function effectiveStatus(lock: Pick<LockRecord, 'status' | 'expiresAt'>, now: number): LockStatus {
  return lock.status === 'ACTIVE' && lock.expiresAt <= now ? 'EXPIRED' : lock.status;
}


/** Extension never reaches beyond `MAX_LOCK_LIFETIME_MINUTES` from creation. */
export function extendedExpiry(createdAt: number, now: number, durationMs: number, maxLifetimeMs: number): number {
  return Math.min(now + durationMs, createdAt + maxLifetimeMs);
}

/** The wire form of a lock at `now`. */
export function toLock(record: LockRecord, now: number): Lock {
  const status = effectiveStatus(record, now);
  const lock: Lock = {
    lockId: record.lockId,
    eventId: record.eventId,
    categoryId: record.categoryId,
    quantity: record.quantity,
    userId: record.userId,
    sessionId: record.sessionId,
    status,
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    expiresInSeconds: status === 'ACTIVE' ? Math.max(0, Math.ceil((record.expiresAt - now) / 1000)) : 0,
  };
  if (record.confirmedAt !== undefined) lock.confirmedAt = new Date(record.confirmedAt).toISOString();
  if (record.releasedAt !== undefined) lock.releasedAt = new Date(record.releasedAt).toISOString();
  if (record.orderId !== undefined) lock.orderId = record.orderId;
  if (record.reason !== undefined) lock.reason = record.reason;
  else if (status === 'EXPIRED') lock.reason = 'expired';
  if (record.seats !== undefined) lock.seats = [...record.seats];
  return lock;
}
