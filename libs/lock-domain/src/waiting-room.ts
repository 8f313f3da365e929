import { LockError } from './errors.js';
import type { CatalogId } from './ids.js';

/** DI token for the {@link WaitingRoomStore} (Redis, or in-process in zero-configuration mode). */
export const WAITING_ROOM_STORE = Symbol('WAITING_ROOM_STORE');

/** How one event's waiting room admits buyers (CONTRACT §7). */
export interface WaitingRoomSettings {
  /** Users admitted per minute at most; fractions of a user carry over from tick to tick. */
  admitPerMinute: number;
  /** Admission pauses while this many admitted users are active. */
  maxActiveUsers: number;
  /** How long an admission lasts (`admissionMinutes`). */
  admissionMs: number;
  /** Epoch ms. Joiners before it get no position; at it they are put in a uniformly random order. */
  salesStartAt?: number;
}

/** Bounds of the settings, shared by the catalog file, RabbitMQ and the stores. */
export const WAITING_ROOM_LIMITS = {
  maxAdmitPerMinute: 1_000_000,
  maxActiveUsers: 10_000_000,
  maxAdmissionMs: 24 * 60 * 60_000,
} as const;

/** Refuses (`VALIDATION_FAILED`) settings outside the bounds; answers them unchanged otherwise. */
export function requireWaitingRoomSettings(settings: WaitingRoomSettings): WaitingRoomSettings {
  const { admitPerMinute, maxActiveUsers, admissionMs, salesStartAt } = settings;
  const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);
  const ok =
    finite(admitPerMinute) &&
    admitPerMinute > 0 &&
    admitPerMinute <= WAITING_ROOM_LIMITS.maxAdmitPerMinute &&
    Number.isSafeInteger(maxActiveUsers) &&
    maxActiveUsers >= 1 &&
    maxActiveUsers <= WAITING_ROOM_LIMITS.maxActiveUsers &&
    Number.isSafeInteger(admissionMs) &&
    admissionMs >= 1 &&
    admissionMs <= WAITING_ROOM_LIMITS.maxAdmissionMs &&
    (salesStartAt === undefined || (Number.isSafeInteger(salesStartAt) && salesStartAt >= 0));
  if (!ok) throw new LockError('VALIDATION_FAILED', 'Invalid waiting room settings');
  return settings;
}

/** A room's shared figures, as `queue-update` and `/stats` carry them. */
export interface QueueSnapshot {
  /** In the form the room was configured with. */
  eventId: CatalogId;
  /** Switched on (a room switched off answers `QUEUE_CLOSED`). */
  enabled: boolean;
  /** Switched off or sold out: nobody waits any more, joins are refused `QUEUE_CLOSED`. */
  closed: boolean;
  /** The place number admission has reached: a user whose `position` ≤ it has had their turn. */
  servingPosition: number;
  /** Users waiting (with a place, or before `salesStartAt` without one yet). */
  queueLength: number;
  /** Admitted users whose admission has not ended. */
  activeUsers: number;
  admitPerMinute: number;
  maxActiveUsers: number;
  admissionMs: number;
  /** Users admitted since the room was first configured. */
  admittedTotal: number;
  salesStartAt?: number;
  /** Rises with every change a waiting user could see (joins, leaves, admissions, ends, settings). */
  version: number;
}

/** One user's place. */
export interface QueueEntry {
  state: 'waiting' | 'admitted';
  /** Place number; absent before `salesStartAt` (no order yet) and once admitted. */
  position?: number;
  /** Waiting users ahead of this one (absent without a position). */
  ahead?: number;
  /** Admitted: when the admission began and when it ends (epoch ms). */
  admittedAt?: number;
  admissionExpiresAt?: number;
}

export interface QueueJoin {
  entry: QueueEntry;
  snapshot: QueueSnapshot;
}

/** An admission the store granted. */
export interface Admission {
  userId: string;
  admittedAt: number;
  expiresAt: number;
}

/** What one admission tick did. */
export interface AdmitResult {
  snapshot: QueueSnapshot;
  /** Granted by this tick, in queue order. */
  admitted: Admission[];
  /** Users whose turn came while they had been away `abandonMs`: skipped and removed. */
  abandoned: string[];
  /** The room was closed by this tick (the event sold out): tell the waiting users. */
  closedNow: boolean;
}

/** Every store answer carries the store's instant (Redis `TIME`, or the process clock). */
export interface RoomReply<T> {
  now: number;
  value: T;
}

/**
 * The waiting rooms: positions, the serving position, admissions and their expiries, last-seen
 * times. Every method is atomic (one Lua call on Redis), so any instance serves any user and the
 * admission pacing cannot be exceeded even if two instances tick at once.
 *
 * The lock store reads the same admissions inside its own atomic `lock` call (`ADMISSION_REQUIRED`)
 * and ends a user's admission when it confirms their lock for the event.
 */
export interface WaitingRoomStore {
  /**
   * Switches a room on with these settings, or off (`null`: closed, waiting users dropped, no
   * admission required any more). Idempotent. Settings that change after the sales start never
   * reorder places: `salesStartAt` is then kept.
   */
  configure(eventId: CatalogId, settings: WaitingRoomSettings | null): Promise<RoomReply<QueueSnapshot>>;

  /** Takes (or finds, idempotently) the user's place. `QUEUE_NOT_FOUND` / `QUEUE_CLOSED`. */
  join(eventId: CatalogId, userId: string): Promise<RoomReply<QueueJoin>>;

  /** Gives up the place and any admission. `QUEUE_NOT_FOUND` when there is no room. */
  leave(eventId: CatalogId, userId: string): Promise<RoomReply<{ left: boolean; snapshot: QueueSnapshot }>>;

  /** The user's admission if it is running now. */
  admission(eventId: CatalogId, userId: string): Promise<RoomReply<Admission | null>>;

  /** These users have a connected socket now (last-seen, for the abandonment rule). */
  seen(eventId: CatalogId, userIds: string[]): Promise<void>;

  /**
   * One admission tick: places the early joiners in random order once `salesStartAt` has passed,
   * ends admissions past their end, then admits the next users in order while the pace and the
   * cap allow, skipping (and removing) those not seen for `abandonMs`.
   */
  admit(eventId: CatalogId, options: { abandonMs: number }): Promise<RoomReply<AdmitResult>>;

  /** Every configured room (closed ones too), in configuration order. */
  snapshots(): Promise<RoomReply<QueueSnapshot[]>>;

  /**
   * The admitter lease: takes it when free or renews it when `owner` holds it, for `ttlMs`.
   * Answers whether `owner` holds it now.
   */
  lease(owner: string, ttlMs: number): Promise<boolean>;

  /** Gives the lease up at once when `owner` holds it (graceful shutdown). */
  releaseLease(owner: string): Promise<void>;

  close(): Promise<void>;
}

/**
 * The part of an in-process waiting room the in-process lock store calls inside its own atomic
 * step (the Redis store reads the same state from its Lua script).
 */
export interface AdmissionGate {
  /** The event's room is on and the user has no running admission at `now`. */
  admissionRequired(eventKey: string, userId: string, now: number): boolean;
  /** The user's lock for the event was confirmed: the admission ends now, freeing the slot. */
  lockConfirmed(eventKey: string, userId: string, now: number): void;
}
