import { z } from 'zod';
import {
  LOCK_STATUSES,
  type Availability,
  type EventInfo,
  type LockGranted,
  type LockRecord,
  type LockStats,
  type LockTransition,
  type SeatDelta,
  type SweepResult,
  type UnlockResult,
} from '#lock-domain';

/**
 * The shapes the Lua scripts answer, checked where they enter TypeScript: a reply that does not fit
 * (a script edited wrongly, a foreign script under the same name) becomes a {@link MalformedReplyError},
 * an internal fault, instead of a value cast to a type it does not have.
 */

/** A script answered something that is not what its operation promises. */
export class MalformedReplyError extends Error {
  override readonly name = 'MalformedReplyError';
}

const int = z.int();
const catalogId = z.union([z.string(), int]);

/** A lock record as the scripts print it (also what the outbox holds). */
export const lockRecord = z.object({
  lockId: z.string(),
  eventId: catalogId,
  categoryId: catalogId,
  quantity: int,
  userId: z.string(),
  sessionId: z.string(),
  status: z.enum(LOCK_STATUSES),
  createdAt: int,
  expiresAt: int,
  confirmedAt: int.optional(),
  releasedAt: int.optional(),
  orderId: z.string().optional(),
  reason: z.string().optional(),
  requestId: z.string().optional(),
  /** Seat locks only (CONTRACT §6). */
  seats: z.array(z.string()).optional(),
}) satisfies z.ZodType<LockRecord>;

/** Counts as the scripts print them: the reply's instant is stamped on afterwards. */
const counts = z.object({
  eventId: catalogId,
  categoryId: catalogId,
  totalTickets: int,
  availableTickets: int,
  lockedTickets: int,
  soldTickets: int,
  version: int,
}) satisfies z.ZodType<Omit<Availability, 'timestamp'>>;

export const lifecycleEvent = z.enum(['created', 'expired', 'released', 'confirmed']);

const transition = z.object({
  event: lifecycleEvent,
  lock: lockRecord,
  outboxId: z.string().optional(),
}) satisfies z.ZodType<LockTransition>;

const seatStatus = z.enum(['available', 'held', 'sold', 'blocked']);

/** One call's seat changes for one event (CONTRACT §6 `seat-update`). */
const seatDelta = z.object({
  eventId: catalogId,
  fromVersion: int,
  version: int,
  changes: z.array(z.object({ seatId: z.string(), categoryId: catalogId, status: seatStatus })),
}) satisfies z.ZodType<SeatDelta>;

/** What every script reply and every change announcement carries. */
export const rawChanges = z.object({
  now: int,
  transitions: z.array(transition),
  availability: z.array(counts),
  seats: z.array(seatDelta).optional(),
});

/** A script's reply: its value, or a refusal's code (and the lock's status). */
export const rawReply = rawChanges.extend({
  value: z.unknown().optional(),
  error: z.string().optional(),
  status: z.string().optional(),
  /** A refusal's own message (else the code's default). */
  message: z.string().optional(),
  /** The order a lock was already confirmed for (`LOCK_NOT_ACTIVE` on confirm). */
  orderId: z.string().optional(),
  /** The seats a seat refusal names (CONTRACT §6). */
  seatIds: z.array(z.string()).optional(),
});

/** The value each operation answers. */
export const VALUES = {
  lockRecord: lockRecord satisfies z.ZodType<LockRecord>,
  lockRecordOrNull: lockRecord.nullable() satisfies z.ZodType<LockRecord | null>,
  lockRecords: z.array(lockRecord) satisfies z.ZodType<LockRecord[]>,
  counts,
  countsList: z.array(counts),
  granted: z.object({ lock: lockRecord, replayed: z.boolean() }) satisfies z.ZodType<LockGranted>,
  unlocked: z.object({ lock: lockRecord, releasedQuantity: int, remainingQuantity: int }) satisfies z.ZodType<UnlockResult>,
  events: z.array(
    z.object({
      id: catalogId,
      name: z.string().optional(),
      categories: z.array(z.object({ categoryId: catalogId, name: z.string().optional(), totalTickets: int, reserved: z.literal(true).optional() })),
    }),
  ) satisfies z.ZodType<EventInfo[]>,
  /** The seat-map script: the seats that are not available, as `[seatId, status, …]`, and the versions. */
  seatStates: z.object({ eventId: catalogId, version: int, layout: int, states: z.array(z.string()) }),
  /** The seat-layout script: rows as space-joined seat ids, per reserved category. */
  seatLayout: z.object({
    layout: int,
    categories: z.array(z.object({ categoryId: catalogId, rows: z.array(z.object({ row: z.string(), seats: z.string() })) })),
  }),
  swept: z.object({ expired: int, purged: int }) satisfies z.ZodType<SweepResult>,
  stats: z.object({
    totalLocks: int,
    activeLocks: int,
    usersWithLocks: int,
    categoriesWithLocks: int,
    locksByStatus: z.object({ active: int, expired: int, confirmed: int, released: int }),
  }) satisfies z.ZodType<LockStats>,
} as const;

/** `schema`'s reading of `value`, or a MalformedReplyError naming `what` and the first problem. */
export function parseReply<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const at = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw new MalformedReplyError(`${what} answered a malformed reply${at}: ${issue?.message ?? 'invalid'}`);
}
