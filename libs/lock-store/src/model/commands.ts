import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { LockError, type LockPolicy, type LockStore } from '#lock-domain';

/**
 * The command language of the model-based differential test (model.spec.ts): plain data, so fast-check
 * prints a failing sequence readably and shrinks it. Users, categories, sessions and locks are small
 * indexes; a lock reference picks among the locks created so far (`ref % count`), so every shrunk
 * sequence stays meaningful.
 */

/** Short enough that clock moves reach every boundary, retention long enough to be worth a jump. */
export const MODEL_POLICY: LockPolicy = {
  lockDurationMs: 1000,
  maxLifetimeMs: 2500,
  maxActiveLocksPerUser: 2,
  maxTicketsPerLock: 4,
  retentionMs: 20_000,
};

export const EVENT_ID = 1;
/** Category ids in both catalog forms, with small totals so INSUFFICIENT_TICKETS is common. */
export const CATEGORIES = [
  { categoryId: 'A', totalTickets: 6 },
  { categoryId: 2, totalTickets: 3 },
] as const;
export const USERS = ['u1', 'u2', 'u3'] as const;
const SESSIONS = ['s1', 's2', 's3'] as const;
/** A lock id neither store ever makes. */
export const UNKNOWN_LOCK = '00000000-0000-4000-8000-000000000000';

/** Reference to a lock: the `ref`-th most recent (mod count) of those created; `UNKNOWN` (or none yet) names no lock. */
const UNKNOWN = 9;

export type Mutation =
  | { op: 'lock'; user: number; cat: number; qty: number; session: number; rid?: number }
  | { op: 'unlock'; lock: number; user?: number; qty?: number }
  | { op: 'unlockCat'; user: number; cat: number; qty?: number }
  | { op: 'extend'; lock: number; user?: number }
  | { op: 'confirm'; lock: number; order?: number }
  /** `asOwner`: the owner releases (with its userId); else `user`'s id, or none (Orders). */
  | { op: 'release'; lock: number; reason?: string; user?: number; asOwner?: boolean }
  | { op: 'releaseSession'; session: number }
  | { op: 'sweep'; limit: number }
  | { op: 'setTotal'; cat: number; total: number };

export type Command =
  | Mutation
  /** The clock moves forward by `ms`. */
  | { op: 'tick'; ms: number }
  /** The clock moves to a lock's expiresAt + delta (if that is ahead): the exact expiry boundary. */
  | { op: 'toExpiry'; lock: number; delta: -1 | 0 | 1 }
  | { op: 'read'; user: number; lock: number }
  /** Two mutations at one instant: sent together to Redis on two connections, in either order. */
  | { op: 'pair'; a: Mutation; b: Mutation };

const user = fc.nat({ max: USERS.length - 1 });
/** Who acts on a lock: mostly its owner (`undefined`), sometimes anyone. */
const actor = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: user });
const cat = fc.nat({ max: CATEGORIES.length - 1 });
/** Mostly the latest locks (likelier ACTIVE), sometimes older ones or none. */
const ref = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 2 }) }, { weight: 2, arbitrary: fc.nat({ max: UNKNOWN - 1 }) }, { weight: 1, arbitrary: fc.constant(UNKNOWN) });
/** Mostly the policy's 1..4, sometimes 0 or 5 (refusals). */
const qty = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 5) });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('lock' as const), user, cat, qty, session: fc.nat({ max: SESSIONS.length - 1 }), rid: fc.option(fc.nat({ max: 2 }), { nil: undefined }) }, { requiredKeys: ['op', 'user', 'cat', 'qty', 'session'] }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('unlock' as const), lock: ref, user: actor, qty: fc.option(qty, { nil: undefined }) }, { requiredKeys: ['op', 'lock'] }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unlockCat' as const), user, cat, qty: fc.option(qty, { nil: undefined }) }, { requiredKeys: ['op', 'user', 'cat'] }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('extend' as const), lock: ref, user: actor }, { requiredKeys: ['op', 'lock'] }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('confirm' as const), lock: ref, order: fc.option(fc.nat({ max: 2 }), { nil: undefined }) }, { requiredKeys: ['op', 'lock'] }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('release' as const), lock: ref, reason: fc.option(fc.constantFrom('order-cancelled', 'admin'), { nil: undefined }), user: fc.option(user, { nil: undefined }), asOwner: fc.boolean() }, { requiredKeys: ['op', 'lock'] }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('releaseSession' as const), session: fc.nat({ max: SESSIONS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweep' as const), limit: fc.constantFrom(0, 1, 2, 100) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('setTotal' as const), cat, total: fc.nat({ max: 7 }) }) },
);

export const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: mutation },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.oneof(fc.nat({ max: 3 }), fc.integer({ min: 100, max: 1200 }), fc.integer({ min: 2000, max: 25_000 })) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('toExpiry' as const), lock: ref, delta: fc.constantFrom(-1 as const, 0 as const, 1 as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('read' as const), user, lock: ref }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('pair' as const), a: mutation, b: mutation }) },
);

/** A lock id for the lock a mutation may create: the same for both stores, unordered like UUIDs. */
export function lockIdFor(step: number, part: number): string {
  const h = createHash('sha1').update(`${step}.${part}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A lock created so far, with its owner. */
export interface Created {
  lockId: string;
  userId: string;
}

export function lockRef(ids: readonly Created[], index: number): Created {
  const found = ids.length === 0 || index === UNKNOWN ? undefined : ids[ids.length - 1 - (index % ids.length)];
  return found ?? { lockId: UNKNOWN_LOCK, userId: 'u1' };
}

/** The acting user: the given one, or the lock's owner. */
function actorOf(lock: Created, user: number | undefined): string {
  return user === undefined ? lock.userId : (USERS[user] ?? 'u1');
}

/** What a call came to, comparable across stores (a refusal's message is left out: only its code is contract). */
export type Outcome =
  | { ok: true; reply: unknown }
  | { ok: false; code: string; status?: string; changes?: unknown }
  | { ok: false; fault: string };

export async function outcomeOf(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, reply: await call() };
  } catch (error) {
    if (error instanceof LockError) {
      return {
        ok: false,
        code: error.code,
        ...(error.status === undefined ? {} : { status: error.status }),
        ...(error.changes === undefined ? {} : { changes: error.changes }),
      };
    }
    return { ok: false, fault: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/**
 * Calls one mutation on a store, its lock references resolved against `ids`. Answers a function so
 * the caller can invoke it at the instant and with the lock id it chooses (stores take both synchronously).
 */
export function invocation(mutation: Mutation, ids: readonly Created[]): (store: LockStore) => Promise<unknown> {
  switch (mutation.op) {
    case 'lock': {
      const { categoryId } = CATEGORIES[mutation.cat] ?? CATEGORIES[0];
      const userId = USERS[mutation.user] ?? 'u1';
      return (store) =>
        store.lock({
          eventId: EVENT_ID,
          categoryId,
          userId,
          sessionId: SESSIONS[mutation.session] ?? 's1',
          hold: { kind: 'quantity', quantity: mutation.qty },
          ...(mutation.rid === undefined ? {} : { requestId: `r${mutation.rid}` }),
        });
    }
    case 'unlock': {
      const lock = lockRef(ids, mutation.lock);
      const userId = actorOf(lock, mutation.user);
      return (store) => store.unlock({ userId, target: { lockId: lock.lockId }, ...quantity(mutation.qty) });
    }
    case 'unlockCat': {
      const { categoryId } = CATEGORIES[mutation.cat] ?? CATEGORIES[0];
      return (store) =>
        store.unlock({ userId: USERS[mutation.user] ?? 'u1', target: { eventId: EVENT_ID, categoryId }, ...quantity(mutation.qty) });
    }
    case 'extend': {
      const lock = lockRef(ids, mutation.lock);
      const userId = actorOf(lock, mutation.user);
      return (store) => store.extend(lock.lockId, userId);
    }
    case 'confirm': {
      const { lockId } = lockRef(ids, mutation.lock);
      const orderId = mutation.order === undefined ? undefined : `order-${mutation.order}`;
      return (store) => store.confirm(lockId, orderId);
    }
    case 'release': {
      const lock = lockRef(ids, mutation.lock);
      const userId = mutation.asOwner === true ? lock.userId : mutation.user === undefined ? undefined : USERS[mutation.user];
      return (store) => store.release(lock.lockId, mutation.reason, userId);
    }
    case 'releaseSession':
      return (store) => store.releaseSession(SESSIONS[mutation.session] ?? 's1', 'disconnected');
    case 'sweep':
      return (store) => store.sweep(mutation.limit);
    case 'setTotal': {
      const { categoryId } = CATEGORIES[mutation.cat] ?? CATEGORIES[0];
      return (store) => store.setCategoryTotal(EVENT_ID, categoryId, mutation.total);
    }
  }
}

function quantity(qty: number | undefined): { quantity?: number } {
  return qty === undefined ? {} : { quantity: qty };
}

/** The lock a granted (not replayed) lock call created, if that is what `outcome` is. */
export function createdLock(outcome: Outcome): Created | undefined {
  if (!outcome.ok) return undefined;
  const value = (outcome.reply as { value?: { lock?: { lockId?: unknown; userId?: unknown }; replayed?: unknown } }).value;
  const lock = value?.lock;
  if (value?.replayed !== false || typeof lock?.lockId !== 'string' || typeof lock.userId !== 'string') return undefined;
  return { lockId: lock.lockId, userId: lock.userId };
}
