import { afterEach, expect } from 'vitest';
import {
  LockError,
  effectiveStatus,
  type Availability,
  type CatalogId,
  type ErrorCode,
  type EventInfo,
  type LockPolicy,
  type LockRecord,
  type LockRequest,
  type LockStore,
  type StoreReply,
} from '#lock-domain';

/** Long enough that nothing expires during a test unless the test asks for it. */
export const POLICY: LockPolicy = {
  lockDurationMs: 60_000,
  maxLifetimeMs: 180_000,
  maxActiveLocksPerUser: 5,
  maxTicketsPerLock: 10,
  retentionMs: 60_000,
};

/** Event `1` (a number) with categories `"A"` (10 tickets) and `2` (a number, 5 tickets). */
export const EVENT: EventInfo = {
  id: 1,
  name: 'Concert',
  categories: [
    { categoryId: 'A', name: 'Floor', totalTickets: 10 },
    { categoryId: 2, name: 'Balcony', totalTickets: 5 },
  ],
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the local clock passes `at` by `margin` ms (the Redis store's TIME is the same host clock). */
export const sleepUntil = (at: number, margin = 40) => sleep(Math.max(0, at - Date.now() + margin));

export async function refused(call: Promise<unknown>, code: ErrorCode): Promise<LockError> {
  const outcome = await call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected ${code}, the call succeeded with ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(LockError);
  expect((outcome.error as LockError).code).toBe(code);
  return outcome.error as LockError;
}

/** What a refusal that still recorded something (a due lock's expiry) carries, as `changes`. */
export function changesOf(error: LockError): LockError['changes'] {
  return error.changes;
}

/** Opens stores for one implementation and gives the cases their shorthand; what every area file receives. */
export interface ContractHarness {
  /** A store with empty state for POLICY + `overrides`, `events` defined; closed after the test. */
  open: (overrides?: Partial<LockPolicy>, events?: EventInfo[]) => Promise<LockStore>;
  /** A request for one ticket of event 1 / category A in session `s-<userId>`, unless overridden. */
  req: (userId: string, overrides?: Partial<Omit<LockRequest, 'hold'>> & { quantity?: number }) => LockRequest;
  nextRequestId: () => string;
  counts: (store: LockStore, categoryId?: CatalogId, eventId?: CatalogId) => Promise<Availability>;
  lockOf: (store: LockStore, request: LockRequest) => Promise<LockRecord>;
  statusOf: (store: LockStore, lockId: string) => Promise<string | null>;
  /** A reply's transitions as `event:lockId`. */
  events: (reply: StoreReply<unknown>) => string[];
}

/**
 * The harness over `create`, which must answer a store with empty state (e.g. a fresh Redis key
 * prefix) for the policy. Call inside a describe block: it registers the afterEach that closes stores.
 */
export function contractHarness(create: (policy: LockPolicy) => Promise<LockStore>): ContractHarness {
  const opened: LockStore[] = [];

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  let requests = 0;
  return {
    open: async (overrides = {}, events = [EVENT]) => {
      const store = await create({ ...POLICY, ...overrides });
      opened.push(store);
      for (const event of events) await store.defineEvent(event, { replaceTotals: false });
      return store;
    },
    req: (userId, overrides = {}) => {
      const { quantity = 1, ...rest } = overrides;
      return { eventId: 1, categoryId: 'A', userId, sessionId: `s-${userId}`, hold: { kind: 'quantity', quantity }, ...rest };
    },
    nextRequestId: () => `r-${++requests}`,
    counts: async (store, categoryId = 'A', eventId = 1) => {
      const { value } = await store.availability(eventId, [categoryId]);
      expect(value).toHaveLength(1);
      return value[0] as Availability;
    },
    lockOf: async (store, request) => (await store.lock(request)).value.lock,
    statusOf: async (store, lockId) => {
      const { value, now } = await store.get(lockId);
      return value ? effectiveStatus(value, now) : null;
    },
    events: (reply) => reply.transitions.map((t) => `${t.event}:${t.lock.lockId}`),
  };
}
