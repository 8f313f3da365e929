import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  LOCK_STORE,
  LockError,
  idKey,
  effectiveStatus,
  toLock,
  type Availability,
  type CatalogId,
  type EventInfo,
  type Lock,
  type LockRequest,
  type LockSelector,
  type LockStats,
  type LockStore,
  type LedgerSettlement,
  type SeatHoldRequest,
  type SeatMap,
  type StoreReply,
} from '#lock-domain';
import type { UnlockTicketsResult } from '#contracts';
import { AVAILABILITY_SOURCE, type AvailabilitySource } from '../events/availability-source.js';
import { LockChangesBus } from './lock-changes.js';
import { ExpiryTimer } from './expiry-timer.js';

/**
 * The application's use cases over the {@link LockStore}: it makes sure the store knows a category
 * before locking (asking the availability source once), turns records into the wire form, and
 * hands every change to the {@link LockChangesBus}. One store call per request on the hot path.
 */
@Injectable()
export class LockService {
  private readonly logger = new Logger(LockService.name);
  /** Concurrent first requests for one event/category ask the source once. */
  private readonly inflight = new Map<string, Promise<boolean>>();
  /** Events a lazy source defined whole in this process (for the seat map). */
  private readonly wholeEvents = new Set<string>();

  constructor(
    @Inject(LOCK_STORE) private readonly store: LockStore,
    @Inject(AVAILABILITY_SOURCE) private readonly source: AvailabilitySource,
    private readonly changes: LockChangesBus,
    private readonly expiry: ExpiryTimer,
  ) {}

  /** The lock, with its category's available count right after it (CONTRACT §2 `availableTickets`). */
  async lock(request: LockRequest): Promise<Lock & { availableTickets: number }> {
    const reply = await this.withKnownCategory(request.eventId, request.categoryId, () => this.call(() => this.store.lock(request)));
    this.changes.publish(reply);
    if (!reply.value.replayed) this.expiry.expect(reply.value.lock.expiresAt, reply.now);
    const lock = toLock(reply.value.lock, reply.now);
    const counted = reply.availability.find((a) => idKey(a.categoryId) === idKey(lock.categoryId));
    // A replayed requestId changed nothing, so its reply carries no counts: read them (replays are rare).
    const availableTickets = counted
      ? counted.availableTickets
      : ((await this.store.availability(lock.eventId, [lock.categoryId])).value[0]?.availableTickets ?? 0);
    return { ...lock, availableTickets };
  }

  /** Named seats of a reserved category, all or nothing (CONTRACT §6 `hold-seats`). */
  async holdSeats(request: SeatHoldRequest): Promise<Lock> {
    const reply = await this.withKnownEvent(request.eventId, () => this.call(() => this.store.holdSeats(request)));
    this.changes.publish(reply);
    if (!reply.value.replayed) this.expiry.expect(reply.value.lock.expiresAt, reply.now);
    return toLock(reply.value.lock, reply.now);
  }

  /**
   * The seat map of an event's reserved categories. A lazy source may have defined only some of the
   * event's categories so far (a lock asks for one): the first map read here defines the whole event.
   */
  async seatMap(eventId: CatalogId): Promise<SeatMap> {
    if (this.source.lazy && !this.wholeEvents.has(idKey(eventId))) {
      const found = await this.once(`w:${idKey(eventId)}`, async () => {
        const event = await this.source.fetchEvent(eventId);
        if (event) await this.store.defineEvent(event, { replaceTotals: false });
        return event !== null;
      });
      if (!found) throw new LockError('EVENT_NOT_FOUND');
      this.wholeEvents.add(idKey(eventId));
    }
    return (await this.withKnownEvent(eventId, () => this.store.seatMap(eventId))).value;
  }

  async unlock(userId: string, target: LockSelector, quantity?: number, seatIds?: string[]): Promise<UnlockTicketsResult> {
    const reply = await this.call(() =>
      this.store.unlock({ userId, target, ...(quantity === undefined ? {} : { quantity }), ...(seatIds === undefined ? {} : { seatIds }) }),
    );
    this.changes.publish(reply);
    const { lock, releasedQuantity, remainingQuantity } = reply.value;
    return { lockId: lock.lockId, releasedQuantity, remainingQuantity, status: effectiveStatus(lock, reply.now) };
  }

  async extend(userId: string, lockId: string): Promise<Lock> {
    const reply = await this.call(() => this.store.extend(lockId, userId));
    this.changes.publish(reply);
    this.expiry.expect(reply.value.expiresAt, reply.now);
    return toLock(reply.value, reply.now);
  }

  async confirm(lockId: string, orderId?: string): Promise<Lock> {
    const reply = await this.call(() => this.store.confirm(lockId, orderId));
    this.changes.publish(reply);
    return toLock(reply.value, reply.now);
  }

  /**
   * The original platform's `confirm-lock`: true when the lock is CONFIRMED now (a repeat included)
   * and, with `userId`, is that user's. A lock's owner never changes, so reading it first and then
   * confirming cannot confirm another user's lock. Refusals answer false (the store refused).
   */
  async confirmOwned(lockId: string, userId?: string): Promise<boolean> {
    const lock = await this.get(lockId);
    if (!lock || (userId !== undefined && lock.userId !== userId)) return false;
    try {
      return (await this.confirm(lockId)).status === 'CONFIRMED';
    } catch (error) {
      // Already CONFIRMED for an order (confirm-ticket-lock with an orderId): this pattern has no
      // order of its own and asks only whether the lock is CONFIRMED now.
      if (error instanceof LockError) return error.code === 'LOCK_NOT_ACTIVE' && error.status === 'CONFIRMED';
      throw error;
    }
  }

  /**
   * Reads a category afresh from the availability source after an order changed it and pushes its
   * counts. When the source is the sales ledger (it gives `soldTickets`) the store follows it (see
   * `LockStore.followLedger`; `settle` names the completed order); otherwise only the total is
   * taken, sales being counted here. Unknown to the source: nothing to update (null).
   */
  async refreshCategory(eventId: CatalogId, categoryId: CatalogId, settle?: LedgerSettlement): Promise<Availability | null> {
    const category = this.source.refetchCategory
      ? await this.source.refetchCategory(eventId, categoryId)
      : await this.source.fetchCategory(eventId, categoryId);
    if (!category) return null;
    if (category.soldTickets === undefined) return this.setCategoryTotal(eventId, categoryId, category.totalTickets);
    const reading = { totalTickets: category.totalTickets, soldTickets: category.soldTickets };
    try {
      const reply = await this.store.followLedger(eventId, categoryId, reading, settle);
      this.changes.publish({ ...reply, availability: [reply.value] });
      return reply.value;
    } catch (error) {
      if (!isUnknownCatalogEntry(error)) throw error;
      // First sight of the category: defined with the ledger's figures (sold included), atomically.
      const reply = await this.store.defineEvent({ id: eventId, categories: [category] }, { replaceTotals: false });
      const defined = reply.value.find((a) => idKey(a.categoryId) === idKey(categoryId)) ?? null;
      this.changes.publish({ ...reply, availability: defined ? [defined] : [] });
      return defined;
    }
  }

  async release(lockId: string, reason?: string): Promise<Lock> {
    const reply = await this.call(() => this.store.release(lockId, reason));
    this.changes.publish(reply);
    return toLock(reply.value, reply.now);
  }

  /** Disconnect after grace: frees what the session still holds. */
  async releaseSession(sessionId: string, reason: string): Promise<Lock[]> {
    const reply = await this.store.releaseSession(sessionId, reason);
    this.changes.publish(reply);
    return reply.value.map((record) => toLock(record, reply.now));
  }

  async get(lockId: string): Promise<Lock | null> {
    const reply = await this.store.get(lockId);
    return reply.value ? toLock(reply.value, reply.now) : null;
  }

  async myLocks(userId: string): Promise<Lock[]> {
    const reply = await this.store.activeLocks(userId);
    return reply.value.map((record) => toLock(record, reply.now));
  }

  /** Every category of an event (asking the source the first time the event is seen). */
  async eventAvailability(eventId: CatalogId): Promise<Availability[]> {
    const reply = await this.withKnownEvent(eventId, () => this.store.availability(eventId));
    return reply.value;
  }

  /**
   * Every event the store knows, with its categories' names and totals and their current counts
   * (for `GET /events`). One store read for the list, then one per event.
   */
  async events(): Promise<Array<{ event: EventInfo; availability: Availability[] }>> {
    const { value: events } = await this.store.events();
    return Promise.all(
      events.map(async (event) => ({ event, availability: (await this.store.availability(event.id)).value })),
    );
  }

  async setCategoryTotal(eventId: CatalogId, categoryId: CatalogId, totalTickets: number): Promise<Availability> {
    const reply = await this.store.setCategoryTotal(eventId, categoryId, totalTickets);
    this.changes.publish({ ...reply, availability: [reply.value] });
    return reply.value;
  }

  /**
   * Events' `inventory-changed`: the new total; when the Events service is the sales ledger, its sold
   * count is read afresh as well (an unanswered re-read leaves the new total and our counts).
   */
  async inventoryChanged(eventId: CatalogId, categoryId: CatalogId, totalTickets: number): Promise<void> {
    await this.setCategoryTotal(eventId, categoryId, totalTickets);
    if (!this.source.isLedger?.(eventId)) return;
    try {
      await this.refreshCategory(eventId, categoryId);
    } catch (error) {
      if (!(error instanceof LockError)) throw error;
      this.logger.warn(`inventory-changed: sold count of ${idKey(eventId)}/${idKey(categoryId)} not re-read (${error.code})`);
    }
  }

  async stats(): Promise<LockStats> {
    return (await this.store.stats()).value;
  }

  /** Records due expiries, `limit` at a time, until none are left; answers how many expired. */
  async sweep(limit = 500): Promise<number> {
    let total = 0;
    for (;;) {
      const reply = await this.store.sweep(limit);
      this.changes.publish(reply);
      total += reply.value.expired;
      if (reply.value.expired < limit) return total;
    }
  }

  /** Runs a store call; a refusal that still recorded an expiry is published before it is rethrown. */
  private async call<T>(operation: () => Promise<StoreReply<T>>): Promise<StoreReply<T>> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof LockError && error.changes) this.changes.publish(error.changes);
      throw error;
    }
  }

  /** The lock needs its category: asked of a lazy source the first time, defined, then retried. */
  private withKnownCategory<T>(eventId: CatalogId, categoryId: CatalogId, call: () => Promise<T>): Promise<T> {
    return this.withCatalog(
      `c:${idKey(eventId)}:${idKey(categoryId)}`,
      call,
      async () => {
        const category = await this.source.fetchCategory(eventId, categoryId);
        return category ? { id: eventId, categories: [category] } : null;
      },
      (refusal) => refusal,
    );
  }

  private withKnownEvent<T>(eventId: CatalogId, call: () => Promise<T>): Promise<T> {
    return this.withCatalog(`e:${idKey(eventId)}`, call, () => this.source.fetchEvent(eventId), () => new LockError('EVENT_NOT_FOUND'));
  }

  /**
   * Runs `call`; when the store does not know the event or category and the source is lazy, fetches
   * it once (concurrent callers share the answer), defines it and runs `call` again. Unknown to the
   * source as well: `notFound` says what to throw instead of the store's refusal.
   */
  private async withCatalog<T>(
    key: string,
    call: () => Promise<T>,
    fetch: () => Promise<EventInfo | null>,
    notFound: (refusal: unknown) => unknown,
  ): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!this.source.lazy || !isUnknownCatalogEntry(error)) throw error;
      const found = await this.once(key, async () => {
        const event = await fetch();
        if (!event) return false;
        await this.store.defineEvent(event, { replaceTotals: false });
        return true;
      });
      if (!found) throw notFound(error);
      return call();
    }
  }

  private once(key: string, fetch: () => Promise<boolean>): Promise<boolean> {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = fetch().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
      this.logger.debug(`asking the availability source for ${key}`);
    }
    return pending;
  }
}

function isUnknownCatalogEntry(error: unknown): boolean {
  return error instanceof LockError && (error.code === 'EVENT_NOT_FOUND' || error.code === 'CATEGORY_NOT_FOUND');
}
