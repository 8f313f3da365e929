import type { Availability, EventInfo } from './availability.js';
import type { CatalogId } from './ids.js';
import type { Hold, LockRecord } from './lock.js';
import type { SeatDelta, SeatMap, SeatOrphanRule } from './seats.js';

/** DI token for the {@link LockStore} (Nest binds the Redis or the in-process implementation to it). */
export const LOCK_STORE = Symbol('LOCK_STORE');

/** DI token for the {@link LockChangeFeed}, or `null` when the store is not shared (in-process). */
export const LOCK_CHANGE_FEED = Symbol('LOCK_CHANGE_FEED');

/** The rules a store enforces; parsed from configuration once. */
export interface LockPolicy {
  /** How long a new or extended lock holds (`LOCK_DURATION_MINUTES`). */
  lockDurationMs: number;
  /** A lock never lives beyond this from its creation (`MAX_LOCK_LIFETIME_MINUTES`). */
  maxLifetimeMs: number;
  /** `MAX_ACTIVE_LOCKS_PER_USER`. */
  maxActiveLocksPerUser: number;
  /** `MAX_TICKETS_PER_LOCK`. */
  maxTicketsPerLock: number;
  /**
   * How long terminal locks are kept (for late confirms, idempotent replies and `/stats`) before
   * the sweep removes them. Also how long a `requestId` is remembered.
   */
  retentionMs: number;
  /** `SEAT_ORPHAN_RULE` for named seat holds; `off` when absent. Best available avoids orphans either way. */
  seatOrphanRule?: SeatOrphanRule;
}

export type LifecycleEvent = 'created' | 'expired' | 'released' | 'confirmed';

/** A state change the store recorded; the service tells owners, rooms and the outbox about it. */
export interface LockTransition {
  event: LifecycleEvent;
  /** The lock right after the transition. */
  lock: LockRecord;
  /** The outbox entry that records it, when the store keeps one (the Redis store with `outbox`). */
  outboxId?: string;
}

/** What one store call changed, taken inside its atomic step at the store's instant `now`. */
export interface LockChanges {
  now: number;
  /** Transitions recorded by the call, in order. Empty for reads. */
  transitions: LockTransition[];
  /** Fresh counts of every category whose counts the call changed. Empty for reads. */
  availability: Availability[];
  /** Seat status changes per event (reserved categories), present only when the call changed seats. */
  seats?: SeatDelta[];
}

/**
 * What every store call answers: its value, read at one instant `now` (the store's clock, i.e.
 * Redis `TIME` for the Redis store), plus what the call changed.
 */
export interface StoreReply<T> extends LockChanges {
  value: T;
}

export interface LockRequest {
  eventId: CatalogId;
  categoryId: CatalogId;
  hold: Hold;
  userId: string;
  sessionId: string;
  /** Retries with the same `requestId` (and the same event, category, quantity) from the same user get the first answer back. */
  requestId?: string;
}

/**
 * Which lock: by id, or the user's ACTIVE lock in a category. With an id, an `eventId`/`categoryId`
 * sent along must be the lock's, else `VALIDATION_FAILED` (checked in the same atomic step).
 */
export type LockSelector =
  | { lockId: string; eventId?: CatalogId; categoryId?: CatalogId }
  | { eventId: CatalogId; categoryId: CatalogId };

export interface UnlockRequest {
  userId: string;
  target: LockSelector;
  /** Tickets to give back; all of them when absent. Fewer than held keeps the lock ACTIVE. */
  quantity?: number;
  /** Seat locks: the seats to give back (all of them → RELEASED). Not with `quantity`. */
  seatIds?: string[];
}

/** `hold-seats`: named seats of one reserved category, all or nothing. */
export interface SeatHoldRequest {
  eventId: CatalogId;
  seatIds: string[];
  userId: string;
  sessionId: string;
  /** Adds the seats to this ACTIVE seat lock of the user (its `expiresAt` unchanged) instead of a new lock. */
  lockId?: string;
  /** As for `lock`: a retry gets the first answer; the same id with other seats is `VALIDATION_FAILED`. */
  requestId?: string;
}

export interface UnlockResult {
  lock: LockRecord;
  releasedQuantity: number;
  remainingQuantity: number;
}

export interface LockGranted {
  lock: LockRecord;
  /** True when this answered a retry of an earlier `requestId` and nothing was locked. */
  replayed: boolean;
}

export interface LockStats {
  totalLocks: number;
  activeLocks: number;
  /** Users holding at least one ACTIVE lock. */
  usersWithLocks: number;
  /** Categories with at least one ACTIVE lock. */
  categoriesWithLocks: number;
  locksByStatus: { active: number; expired: number; confirmed: number; released: number };
}

/** A category's figures read from an Events service that is the sales ledger (the original events-service). */
export interface LedgerReading {
  totalTickets: number;
  /** Tickets the ledger counts as sold (the original's `reservedSeats`). */
  soldTickets: number;
}

/** The order a ledger reading follows (`order-completed`): it settles one of our confirms. */
export interface LedgerSettlement {
  /** Remembered for the retention period: a redelivered order settles nothing twice. */
  orderKey: string;
  userId: string;
  quantity: number;
}

export interface SweepResult {
  /** Locks this call turned EXPIRED (each lock is handed out by exactly one sweeper). */
  expired: number;
  /** Terminal locks removed after their retention period. */
  purged: number;
}

/**
 * The lock store: the single authority on locks and counts. Every method is atomic; the Redis
 * implementation makes each one a single Lua script call (one round trip).
 *
 * Refusals are thrown as `LockError` with the contract's code and change nothing:
 * - `EVENT_NOT_FOUND` / `CATEGORY_NOT_FOUND`: not defined in the store (see {@link defineEvent}).
 * - `INSUFFICIENT_TICKETS`, `DUPLICATE_LOCK`, `TOO_MANY_LOCKS`, `VALIDATION_FAILED` (bad quantity).
 * - `LOCK_NOT_FOUND`, `NOT_LOCK_OWNER`, `LOCK_NOT_ACTIVE`, `LOCK_EXPIRED`.
 */
export interface LockStore {
  /**
   * Defines an event's categories. `replaceTotals` overwrites the total of categories already
   * known (catalog reload, `inventory-changed`); otherwise known totals are kept (first writer
   * wins, so concurrent instances agree). A category created with `soldTickets` (a ledger's
   * figure) starts with that many sold and follows the ledger (see {@link followLedger}).
   * Answers the event's availability.
   */
  defineEvent(event: EventInfo, options: { replaceTotals: boolean }): Promise<StoreReply<Availability[]>>;

  /** The events the store knows, with their categories' names and totals, in definition order. */
  events(): Promise<StoreReply<EventInfo[]>>;

  /**
   * Holds tickets for `lockDurationMs`. On a reserved category the quantity is taken as *best
   * available* seats (`NO_ADJACENT_SEATS` when enough are free but not side by side).
   */
  lock(request: LockRequest): Promise<StoreReply<LockGranted>>;

  /**
   * Holds named seats of one reserved category, all or nothing, as a new lock or added to the user's
   * ACTIVE seat lock. Refusals carry `seatIds`: `SEATS_UNAVAILABLE` (exactly the seats held, sold or
   * blocked), `SEAT_NOT_FOUND` (the unknown ones), `ORPHAN_SEAT` (the seats it would strand, with
   * `seatOrphanRule: 'reject'`); several categories, repeats or too many seats: `VALIDATION_FAILED`.
   */
  holdSeats(request: SeatHoldRequest): Promise<StoreReply<LockGranted>>;

  /** The seat map of every reserved category of an event with each seat's status now. */
  seatMap(eventId: CatalogId): Promise<StoreReply<SeatMap>>;

  /** The owner gives back all or part of an ACTIVE lock. */
  unlock(request: UnlockRequest): Promise<StoreReply<UnlockResult>>;

  /** The owner pushes `expiresAt` to `now + lockDurationMs`, capped at `createdAt + maxLifetimeMs`. */
  extend(lockId: string, userId: string): Promise<StoreReply<LockRecord>>;

  /**
   * Orders bought the tickets. Idempotent for CONFIRMED with the same `orderId` (or none on both);
   * another order → `LOCK_NOT_ACTIVE` with the confirmed `orderId`. Never makes sold exceed total
   * (`INSUFFICIENT_TICKETS`). A lock past its `expiresAt` (recorded
   * EXPIRED or not, while retained) is confirmed only if its quantity can be taken again now,
   * else `LOCK_EXPIRED`. RELEASED → `LOCK_NOT_ACTIVE`.
   */
  confirm(lockId: string, orderId?: string): Promise<StoreReply<LockRecord>>;

  /**
   * Frees the tickets (Orders, or the service on disconnect). RELEASED and EXPIRED locks answer
   * unchanged; CONFIRMED → `LOCK_NOT_ACTIVE`. With `userId`, only the owner may release.
   */
  release(lockId: string, reason?: string, userId?: string): Promise<StoreReply<LockRecord>>;

  /** Releases every ACTIVE lock a socket session created (disconnect after grace). */
  releaseSession(sessionId: string, reason: string): Promise<StoreReply<LockRecord[]>>;

  /** A lock, or null when unknown or purged after retention. */
  get(lockId: string): Promise<StoreReply<LockRecord | null>>;

  /** The user's ACTIVE locks (not yet past `expiresAt`), oldest first. */
  activeLocks(userId: string): Promise<StoreReply<LockRecord[]>>;

  /** Counts of the given categories, or of every category of the event when none are given. */
  availability(eventId: CatalogId, categoryIds?: CatalogId[]): Promise<StoreReply<Availability[]>>;

  /** Changes a category's total (Events' `inventory-changed`), defining it if new. */
  setCategoryTotal(eventId: CatalogId, categoryId: CatalogId, totalTickets: number): Promise<StoreReply<Availability>>;

  /**
   * Makes a category follow its sales ledger (CONTRACT §9): `total = reading.totalTickets`,
   * `sold = reading.soldTickets + pending`, where *pending* are the tickets of locks this store
   * confirmed for the category that the ledger does not show yet (confirmed since the category
   * follows a ledger, not yet settled by their order, and within the retention period). `settle`
   * (an `order-completed` now in the ledger) takes that order's lock out of pending: the oldest of
   * the user's pending locks with that quantity, else the user's oldest; nothing when none or when
   * `orderKey` was settled already. The version rises with every reading (each one is pushed).
   * Unknown category → `EVENT_NOT_FOUND` / `CATEGORY_NOT_FOUND`.
   */
  followLedger(eventId: CatalogId, categoryId: CatalogId, reading: LedgerReading, settle?: LedgerSettlement): Promise<StoreReply<Availability>>;

  /**
   * Records up to `limit` locks past their `expiresAt` as EXPIRED (handing them out through
   * `transitions`) and removes terminal locks older than the retention period.
   */
  sweep(limit: number): Promise<StoreReply<SweepResult>>;

  /** Exact counts for `/stats`, for the whole cluster. */
  stats(): Promise<StoreReply<LockStats>>;

  /** Whether the backing store answers (for `/ready`). */
  ping(): Promise<boolean>;

  close(): Promise<void>;
}

/** Callbacks of a {@link LockChangeFeed} subscription. */
export interface LockChangeListener {
  /** Changes another instance committed, in the order the store made them. */
  changes(changes: LockChanges): void;
  /**
   * The feed was cut and is back: changes made meanwhile were not delivered (the feed is
   * at-most-once), so state derived from it (counts on screens) should be read afresh.
   */
  gap(): void;
}

/**
 * The changes *other* instances sharing a store commit, announced by the store itself in the same
 * atomic step (so no caller has to send them, and none can forget to). A caller learns its own
 * changes from its replies; the feed never echoes them back.
 */
export interface LockChangeFeed {
  /** Starts delivery; resolves once subscribed. The returned function ends it. */
  subscribe(listener: LockChangeListener): Promise<() => Promise<void>>;
}
