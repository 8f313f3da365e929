import { randomUUID } from 'node:crypto';
import {
  LockError,
  availableTickets,
  layoutProblems,
  pickBestAvailable,
  requireSeatIds,
  sellableSeats,
  strandedByHold,
  canTransition,
  effectiveStatus,
  extendedExpiry,
  idKey,
  requireId,
  requireText,
  type Availability,
  type CatalogId,
  type ErrorCode,
  type EventInfo,
  type LedgerReading,
  type LedgerSettlement,
  type LifecycleEvent,
  type LockGranted,
  type LockPolicy,
  type LockRecord,
  type LockRequest,
  type LockStats,
  type LockStatus,
  type LockStore,
  type LockTransition,
  type SeatChange,
  type SeatDelta,
  type SeatHoldRequest,
  type SeatLayout,
  type SeatMap,
  type SeatStatus,
  type StoreReply,
  type SweepResult,
  type TerminalStatus,
  type UnlockRequest,
  type UnlockResult,
  type AdmissionGate,
} from '#lock-domain';
import { IndexedMinHeap } from './indexed-heap.js';

interface Category {
  /** Both ids in the form the catalog defined them. */
  eventId: CatalogId;
  categoryId: CatalogId;
  name?: string;
  total: number;
  sold: number;
  /** Quantities of the locks *recorded* ACTIVE; the due ones among them are subtracted when read. */
  lockedRecorded: number;
  version: number;
  /** This category's recorded-ACTIVE locks by `expiresAt`. */
  active: IndexedMinHeap;
  /** Set once the category follows a sales ledger: the ledger's last sold figure. */
  ledger?: number;
  /** Confirmed since then, not yet settled by their order: lockId → confirmedAt (see followLedger). */
  pending?: Map<string, number>;
  /** Reserved categories: row names and seats, rows best first, seats left to right. */
  layout?: { names: string[]; rows: Seat[][] };
}

/** One seat of a reserved category. Its status at `now` is {@link InProcessLockStore.seatStatus}. */
interface Seat {
  seatId: string;
  category: Category;
  row: number;
  pos: number;
  blocked: boolean;
  sold: boolean;
  /** The lock that took it last; it holds the seat while that lock is ACTIVE and not past expiresAt. */
  holder?: string;
}

interface CatalogEvent {
  id: CatalogId;
  name?: string;
  categories: Map<string, Category>;
  /** Every seat of the event's reserved categories (a seat id names one seat of the event). */
  seats: Map<string, Seat>;
  /** Rises once per call that changes any seat status of the event. */
  seatVersion: number;
}

interface Held {
  record: LockRecord;
  category: Category;
}

/** What one call recorded; turned into the reply's `transitions` and `availability`. */
interface Call {
  now: number;
  transitions: LockTransition[];
  /** Categories to report, with whether their stored counts changed (→ version + 1). */
  touched: Map<Category, boolean>;
  /** Seat status changes per event; the last status of a seat wins. */
  seatChanges: Map<CatalogEvent, Map<string, SeatChange>>;
}

const EVENT_OF: Record<TerminalStatus, LifecycleEvent> = {
  EXPIRED: 'expired',
  CONFIRMED: 'confirmed',
  RELEASED: 'released',
};

/**
 * The lock store for the zero-configuration mode (one process, no Redis), with the semantics of
 * docs/lock-store.md. Every method runs synchronously between reading the clock and answering,
 * so each call is atomic on Node's single thread.
 */
export class InProcessLockStore implements LockStore {
  private readonly catalog = new Map<string, CatalogEvent>();
  private readonly locks = new Map<string, Held>();
  /** Recorded-ACTIVE lock ids per user / per session, in creation order. */
  private readonly byUser = new Map<string, Set<string>>();
  private readonly bySession = new Map<string, Set<string>>();
  /** Categories with at least one recorded-ACTIVE lock. */
  private readonly activeCategories = new Set<Category>();
  /** Every recorded-ACTIVE lock by `expiresAt`: the sweep's order. */
  private readonly dueOrder = new IndexedMinHeap();
  /** Terminal locks by the time they became terminal, for the retention purge. */
  private readonly terminalOrder = new IndexedMinHeap();
  /** requestId → the lock it made, when, and what was asked (a retry must ask the same). */
  private readonly requests = new Map<string, { lockId: string; at: number; asked: string }>();
  /** `hold-seats` requestIds: the first answer's lock and what was asked (a retry must ask the same). */
  private readonly seatRequests = new Map<string, { lockId: string; at: number; asked: string }>();
  private readonly requestOrder = new IndexedMinHeap();
  /** Orders that settled a ledger confirm, per category ref, with when they are forgotten. */
  private readonly settledOrders = new Map<string, number>();
  private readonly recorded: Record<LockStatus, number> = { ACTIVE: 0, EXPIRED: 0, CONFIRMED: 0, RELEASED: 0 };
  private closed = false;

  constructor(
    private readonly policy: LockPolicy,
    private readonly clock: () => number = Date.now,
    /** The in-process waiting rooms, consulted inside `lock` and told of confirms (CONTRACT §7). */
    private readonly admission?: AdmissionGate,
    /** Tests only: lock ids instead of random UUIDs (see the model-based test). */
    private readonly newLockId: () => string = randomUUID,
  ) {}

  /** The event's id in the form the catalog defined it, or undefined for an unknown event. */
  catalogIdOf(eventKey: string): CatalogId | undefined {
    return this.catalog.get(eventKey)?.id;
  }

  /** Every category of the event is sold (the waiting room then closes). False for an unknown event. */
  isSoldOut(eventKey: string): boolean {
    const event = this.catalog.get(eventKey);
    if (!event || event.categories.size === 0) return false;
    for (const category of event.categories.values()) if (category.total - category.sold > 0) return false;
    return true;
  }

  async defineEvent(event: EventInfo, options: { replaceTotals: boolean }): Promise<StoreReply<Availability[]>> {
    const call = this.begin();
    requireId(event.id);
    for (const category of event.categories) {
      requireId(category.categoryId);
      checkTotal(category.totalTickets);
    }
    this.checkLayouts(event);
    const entry = this.ensureEvent(event.id);
    if (event.name !== undefined && (options.replaceTotals || entry.name === undefined)) entry.name = event.name;
    for (const info of event.categories) {
      if (info.soldTickets !== undefined) checkTotal(info.soldTickets);
    }
    for (const info of event.categories) {
      const total = info.seats ? sellableSeats(info.seats) : info.totalTickets;
      const isNew = !entry.categories.has(idKey(info.categoryId));
      const category = this.putCategory(call, entry, info.categoryId, total, options.replaceTotals, info.soldTickets);
      if (info.name !== undefined && (options.replaceTotals || category.name === undefined)) category.name = info.name;
      if (info.seats && (isNew || options.replaceTotals)) this.putLayout(entry, category, info.seats);
    }
    return this.finish(call, () => [...entry.categories.values()].map((c) => this.availabilityOf(c, call.now)));
  }

  async events(): Promise<StoreReply<EventInfo[]>> {
    const call = this.begin();
    const value = [...this.catalog.values()].map((event) => {
      const info: EventInfo = {
        id: event.id,
        categories: [...event.categories.values()].map((c) => ({
          categoryId: c.categoryId,
          ...(c.name === undefined ? {} : { name: c.name }),
          totalTickets: c.total,
          ...(c.layout ? { reserved: true as const } : {}),
        })),
      };
      if (event.name !== undefined) info.name = event.name;
      return info;
    });
    return this.finish(call, () => value);
  }

  async lock(request: LockRequest): Promise<StoreReply<LockGranted>> {
    const call = this.begin();
    const { now } = call;
    requireText(request.userId);
    requireText(request.sessionId);
    if (request.requestId !== undefined) requireText(request.requestId);
    const quantity = request.hold.quantity;
    if (!isQuantity(quantity, this.policy.maxTicketsPerLock)) throw new LockError('VALIDATION_FAILED');

    const requestKey = request.requestId === undefined ? undefined : `${request.userId}\u0000${request.requestId}`;
    const asked = `${idKey(request.eventId)}\u0000${idKey(request.categoryId)}\u0000${quantity}`;
    if (requestKey !== undefined) {
      const seen = this.requests.get(requestKey);
      const first = seen && seen.at + this.policy.retentionMs > now ? this.locks.get(seen.lockId) : undefined;
      if (first) {
        // A retry must be the same request: another event, category or quantity is not one.
        if (seen?.asked !== asked) throw new LockError('VALIDATION_FAILED', 'requestId was already used for another request');
        return this.finish(call, () => ({ lock: { ...first.record }, replayed: true }));
      }
    }

    const event = this.catalog.get(idKey(request.eventId));
    if (!event) throw new LockError('EVENT_NOT_FOUND');
    const category = event.categories.get(idKey(request.categoryId));
    if (!category) throw new LockError('CATEGORY_NOT_FOUND');
    // Waiting room: checked in the same atomic step as the hold (a user admitted meanwhile passes).
    if (this.admission?.admissionRequired(idKey(request.eventId), request.userId, now)) throw new LockError('ADMISSION_REQUIRED');

    const dueHere = this.roomForNewLock(request.userId, category, now);
    if (this.countsOf(category, now).available < quantity) throw new LockError('INSUFFICIENT_TICKETS');
    // A reserved category: the quantity is best available seats.
    const seats = category.layout ? this.bestAvailable(category, quantity, now) : undefined;

    // The user's due lock here ends now, so its owner hears `expired` before the new `created`.
    if (dueHere) this.transition(call, dueHere, 'EXPIRED', {});

    const record = this.grantLock(call, category, request, quantity, seats, now);
    if (requestKey !== undefined) {
      this.requests.set(requestKey, { lockId: record.lockId, at: now, asked });
      this.requestOrder.set(requestKey, now);
    }
    return this.finish(call, () => ({ lock: { ...record }, replayed: false }));
  }

  async holdSeats(request: SeatHoldRequest): Promise<StoreReply<LockGranted>> {
    const call = this.begin();
    const { now } = call;
    requireText(request.userId);
    requireText(request.sessionId);
    if (request.requestId !== undefined) requireText(request.requestId);
    const seatIds = requireSeatIds(request.seatIds, this.policy.maxTicketsPerLock);

    const requestKey = request.requestId === undefined ? undefined : `${request.userId}\u0000${request.requestId}`;
    const asked = seatRequestFingerprint(request);
    if (requestKey !== undefined) {
      const seen = this.seatRequests.get(requestKey);
      const first = seen && seen.at + this.policy.retentionMs > now ? this.locks.get(seen.lockId) : undefined;
      if (seen && first) {
        if (seen.asked !== asked) throw new LockError('VALIDATION_FAILED', 'requestId was already used for another request');
        return this.finish(call, () => ({ lock: { ...first.record }, replayed: true }));
      }
      const other = this.requests.get(requestKey);
      if (other && other.at + this.policy.retentionMs > now) throw new LockError('VALIDATION_FAILED', 'requestId was already used for another request');
    }

    const event = this.catalog.get(idKey(request.eventId));
    if (!event) throw new LockError('EVENT_NOT_FOUND');
    const unknown = seatIds.filter((id) => !event.seats.has(id));
    if (unknown.length > 0) throw new LockError('SEAT_NOT_FOUND', undefined, undefined, undefined, undefined, unknown);
    const seats = seatIds.map((id) => event.seats.get(id) as Seat);
    const category = (seats[0] as Seat).category;
    if (seats.some((seat) => seat.category !== category)) throw new LockError('VALIDATION_FAILED', 'all seats of one call must belong to one category');
    // The waiting room's gate, in the same step as the hold (as in the Lua script).
    if (this.admission?.admissionRequired(idKey(request.eventId), request.userId, now)) throw new LockError('ADMISSION_REQUIRED');

    let target: Held | undefined;
    let dueHere: Held | undefined;
    if (request.lockId !== undefined) {
      target = this.locks.get(request.lockId);
      if (!target) throw new LockError('LOCK_NOT_FOUND');
      if (target.record.userId !== request.userId) throw new LockError('NOT_LOCK_OWNER');
      this.refuseUnlessActive(call, target);
      if (target.category !== category || target.record.seats === undefined) {
        throw new LockError('VALIDATION_FAILED', 'the seats must belong to the category of the lock');
      }
      if (target.record.quantity + seats.length > this.policy.maxTicketsPerLock) {
        throw new LockError('VALIDATION_FAILED', `a lock holds at most ${this.policy.maxTicketsPerLock} seats`);
      }
    } else {
      dueHere = this.roomForNewLock(request.userId, category, now);
    }
    const taken = seats.filter((seat) => this.seatStatus(seat, now) !== 'available');
    if (taken.length > 0) throw new LockError('SEATS_UNAVAILABLE', undefined, undefined, undefined, undefined, taken.map((seat) => seat.seatId));
    if (this.policy.seatOrphanRule === 'reject') {
      const stranded = this.strandedBy(category, seats, now);
      if (stranded.length > 0) throw new LockError('ORPHAN_SEAT', undefined, undefined, undefined, undefined, stranded);
    }

    let record: LockRecord;
    if (target) {
      // Added to the lock: counts change, its expiresAt does not, no lifecycle transition.
      record = target.record;
      this.takeSeats(call, record, seats);
      record.quantity += seats.length;
      category.lockedRecorded += seats.length;
      touch(call, category, true);
    } else {
      if (dueHere) this.transition(call, dueHere, 'EXPIRED', {});
      record = this.grantLock(call, category, request, seats.length, seats, now);
    }
    if (requestKey !== undefined) {
      this.seatRequests.set(requestKey, { lockId: record.lockId, at: now, asked });
      this.requestOrder.set(requestKey, now);
    }
    const lock = record;
    return this.finish(call, () => ({ lock: { ...lock, seats: [...(lock.seats ?? [])] }, replayed: false }));
  }

  async seatMap(eventId: CatalogId): Promise<StoreReply<SeatMap>> {
    const call = this.begin();
    const event = this.catalog.get(idKey(eventId));
    if (!event) throw new LockError('EVENT_NOT_FOUND');
    const categories: SeatMap['categories'] = [];
    for (const category of event.categories.values()) {
      if (!category.layout) continue;
      const { names, rows } = category.layout;
      categories.push({
        categoryId: category.categoryId,
        rows: rows.map((row, r) => ({
          row: names[r] as string,
          seats: row.map((seat) => ({ seatId: seat.seatId, status: this.seatStatus(seat, call.now) })),
        })),
      });
    }
    return this.finish(call, () => ({ eventId: event.id, version: event.seatVersion, categories }));
  }

  async unlock(request: UnlockRequest): Promise<StoreReply<UnlockResult>> {
    const call = this.begin();
    const { target, userId } = request;
    requireText(userId);
    // Checked before anything is looked up, as the Redis store does before its script.
    if (request.seatIds !== undefined) {
      if (request.quantity !== undefined) throw new LockError('VALIDATION_FAILED', 'a seat lock is unlocked by seatIds, not quantity');
      requireSeatIds(request.seatIds, this.policy.maxTicketsPerLock);
    }
    let held: Held | undefined;
    if ('lockId' in target) {
      held = this.locks.get(target.lockId);
      if (!held) throw new LockError('LOCK_NOT_FOUND');
      if (held.record.userId !== userId) throw new LockError('NOT_LOCK_OWNER');
      if (!sameOrAbsent(target.eventId, held.record.eventId) || !sameOrAbsent(target.categoryId, held.record.categoryId)) {
        throw new LockError('VALIDATION_FAILED');
      }
    } else {
      const category = this.catalog.get(idKey(target.eventId))?.categories.get(idKey(target.categoryId));
      // The recorded-ACTIVE one, due or not: a due lock answers LOCK_EXPIRED below, not LOCK_NOT_FOUND.
      held = [...this.heldBy(this.byUser, userId)].find((h) => h.category === category);
      if (!held) throw new LockError('LOCK_NOT_FOUND');
    }
    this.refuseUnlessActive(call, held);

    const record = held.record;
    if (record.seats !== undefined || request.seatIds !== undefined) return this.unlockSeats(call, held, request);
    const quantity = request.quantity ?? record.quantity;
    if (!isQuantity(quantity, record.quantity)) throw new LockError('VALIDATION_FAILED');
    if (quantity < record.quantity) {
      // Partial: the lock lives on with fewer tickets; counts change, the lifecycle does not.
      record.quantity -= quantity;
      held.category.lockedRecorded -= quantity;
      touch(call, held.category, true);
      return this.finish(call, () => ({ lock: { ...record }, releasedQuantity: quantity, remainingQuantity: record.quantity }));
    }
    this.transition(call, held, 'RELEASED', { releasedAt: call.now, reason: 'user-unlock' });
    return this.finish(call, () => ({ lock: { ...record }, releasedQuantity: quantity, remainingQuantity: 0 }));
  }

  async extend(lockId: string, userId: string): Promise<StoreReply<LockRecord>> {
    const call = this.begin();
    const held = this.locks.get(lockId);
    if (!held) throw new LockError('LOCK_NOT_FOUND');
    if (held.record.userId !== userId) throw new LockError('NOT_LOCK_OWNER');
    this.refuseUnlessActive(call, held);

    const record = held.record;
    const { lockDurationMs, maxLifetimeMs } = this.policy;
    const expiresAt = Math.max(record.expiresAt, extendedExpiry(record.createdAt, call.now, lockDurationMs, maxLifetimeMs));
    if (expiresAt !== record.expiresAt) {
      record.expiresAt = expiresAt;
      held.category.active.set(lockId, expiresAt);
      this.dueOrder.set(lockId, expiresAt);
    }
    return this.finish(call, () => ({ ...record }));
  }

  async confirm(lockId: string, orderId?: string): Promise<StoreReply<LockRecord>> {
    const call = this.begin();
    const { now } = call;
    const held = this.locks.get(lockId);
    if (!held) throw new LockError('LOCK_NOT_FOUND');
    const record = held.record;
    const confirmed = { confirmedAt: now, ...(orderId === undefined ? {} : { orderId }) };
    switch (effectiveStatus(record, now)) {
      case 'CONFIRMED':
        // A repeat for the same order (or none on both) answers the same; another order never owns these tickets.
        if (record.orderId !== orderId) throw new LockError('LOCK_NOT_ACTIVE', undefined, 'CONFIRMED', undefined, record.orderId);
        break;
      case 'RELEASED':
        throw new LockError('LOCK_NOT_ACTIVE', undefined, 'RELEASED');
      case 'ACTIVE':
        // The category may have shrunk (inventory-changed) under the lock: sold never exceeds total.
        if (held.category.sold + record.quantity > held.category.total) throw new LockError('INSUFFICIENT_TICKETS', undefined, 'ACTIVE');
        this.transition(call, held, 'CONFIRMED', confirmed);
        break;
      case 'EXPIRED': {
        // Late confirm: the lock no longer counts, so its tickets (its very seats) must be free again right now.
        const canTake = record.seats
          ? this.seatsOf(held.category, record.seats).every((seat) => this.seatStatus(seat, now) === 'available' || seat.holder === record.lockId)
          : this.countsOf(held.category, now).available >= record.quantity;
        if (record.status === 'ACTIVE') this.transition(call, held, 'EXPIRED', {});
        if (!canTake) throw this.refuse(call, 'LOCK_EXPIRED', 'EXPIRED');
        this.transition(call, held, 'CONFIRMED', confirmed);
        break;
      }
    }
    return this.finish(call, () => ({ ...record }));
  }

  async release(lockId: string, reason?: string, userId?: string): Promise<StoreReply<LockRecord>> {
    const call = this.begin();
    const held = this.locks.get(lockId);
    if (!held) throw new LockError('LOCK_NOT_FOUND');
    const record = held.record;
    if (userId !== undefined && record.userId !== userId) throw new LockError('NOT_LOCK_OWNER');
    switch (effectiveStatus(record, call.now)) {
      case 'CONFIRMED':
        throw new LockError('LOCK_NOT_ACTIVE', undefined, 'CONFIRMED');
      case 'RELEASED':
        break;
      case 'EXPIRED':
        // The tickets are free either way; a due lock gets its expiry recorded, not a release.
        if (record.status === 'ACTIVE') this.transition(call, held, 'EXPIRED', {});
        break;
      case 'ACTIVE':
        this.transition(call, held, 'RELEASED', { releasedAt: call.now, reason: reason ?? 'released' });
        break;
    }
    return this.finish(call, () => ({ ...record }));
  }

  async releaseSession(sessionId: string, reason: string): Promise<StoreReply<LockRecord[]>> {
    const call = this.begin();
    const released: LockRecord[] = [];
    const session = [...this.heldBy(this.bySession, sessionId)].sort((a, b) => byCreation(a.record, b.record));
    for (const held of session) {
      if (held.record.expiresAt <= call.now) continue; // left for the sweep to record as expired
      this.transition(call, held, 'RELEASED', { releasedAt: call.now, reason });
      released.push({ ...held.record });
    }
    return this.finish(call, () => released);
  }

  async get(lockId: string): Promise<StoreReply<LockRecord | null>> {
    const call = this.begin();
    const held = this.locks.get(lockId);
    return this.finish(call, () => (held ? { ...held.record } : null));
  }

  async activeLocks(userId: string): Promise<StoreReply<LockRecord[]>> {
    const call = this.begin();
    const value = [...this.heldBy(this.byUser, userId)]
      .filter((h) => h.record.expiresAt > call.now)
      .map((h) => ({ ...h.record }))
      .sort(byCreation);
    return this.finish(call, () => value);
  }

  async availability(eventId: CatalogId, categoryIds?: CatalogId[]): Promise<StoreReply<Availability[]>> {
    const call = this.begin();
    const event = this.catalog.get(idKey(eventId));
    if (!event) throw new LockError('EVENT_NOT_FOUND');
    const categories =
      categoryIds && categoryIds.length > 0
        ? categoryIds.map((id) => {
            const category = event.categories.get(idKey(id));
            if (!category) throw new LockError('CATEGORY_NOT_FOUND');
            return category;
          })
        : [...event.categories.values()];
    return this.finish(call, () => categories.map((c) => this.availabilityOf(c, call.now)));
  }

  async setCategoryTotal(eventId: CatalogId, categoryId: CatalogId, totalTickets: number): Promise<StoreReply<Availability>> {
    const call = this.begin();
    requireId(eventId);
    requireId(categoryId);
    checkTotal(totalTickets);
    const event = this.ensureEvent(eventId);
    // A reserved category's size is its seat map; a new total cannot say which seats changed.
    const reserved = event.categories.get(idKey(categoryId));
    if (reserved?.layout) return this.finish(call, () => this.availabilityOf(reserved, call.now));
    const category = this.putCategory(call, event, categoryId, totalTickets, true);
    return this.finish(call, () => this.availabilityOf(category, call.now));
  }

  async followLedger(eventId: CatalogId, categoryId: CatalogId, reading: LedgerReading, settle?: LedgerSettlement): Promise<StoreReply<Availability>> {
    const call = this.begin();
    checkTotal(reading.totalTickets);
    checkTotal(reading.soldTickets);
    const event = this.catalog.get(idKey(eventId));
    if (!event) throw new LockError('EVENT_NOT_FOUND');
    const category = event.categories.get(idKey(categoryId));
    if (!category) throw new LockError('CATEGORY_NOT_FOUND');
    const pending = category.pending ?? new Map<string, number>();
    category.pending = pending;
    // Confirms past retention are purged with their lock: no longer pending.
    for (const [lockId, confirmedAt] of pending) {
      if (confirmedAt <= call.now - this.policy.retentionMs || !this.locks.has(lockId)) pending.delete(lockId);
    }
    if (settle && !this.settledOrder(category, settle.orderKey, call.now)) {
      let pick: string | undefined;
      let fallback: string | undefined;
      for (const lockId of pending.keys()) {
        const record = this.locks.get(lockId)?.record;
        if (record?.userId !== settle.userId) continue;
        if (record.quantity === settle.quantity) {
          pick = lockId;
          break;
        }
        fallback ??= lockId;
      }
      const settled = pick ?? fallback;
      if (settled !== undefined) pending.delete(settled);
    }
    let sold = reading.soldTickets;
    for (const lockId of pending.keys()) sold += this.locks.get(lockId)?.record.quantity ?? 0;
    category.total = reading.totalTickets;
    category.sold = sold;
    category.ledger = reading.soldTickets;
    // Every reading is pushed to the rooms, so its version rises even when the counts stayed.
    touch(call, category, true);
    return this.finish(call, () => this.availabilityOf(category, call.now));
  }

  async sweep(limit: number): Promise<StoreReply<SweepResult>> {
    const call = this.begin();
    const { now } = call;
    if (!Number.isInteger(limit) || limit < 0) throw new LockError('VALIDATION_FAILED');
    const due = this.dueOrder.popUpTo(now, limit);
    for (const lockId of due) this.transition(call, this.mustGet(lockId), 'EXPIRED', {});
    // Purging is bounded too (as in the Redis store), so one call stays short; it outpaces expiries.
    const forgetBefore = now - this.policy.retentionMs;
    const purgeable = this.terminalOrder.popUpTo(forgetBefore, limit * 10);
    for (const lockId of purgeable) {
      this.recorded[this.mustGet(lockId).record.status]--;
      this.locks.delete(lockId);
    }
    for (const key of this.requestOrder.popUpTo(forgetBefore, limit * 10)) {
      this.requests.delete(key);
      this.seatRequests.delete(key);
    }
    const expired = due.length;
    const purged = purgeable.length;
    return this.finish(call, () => ({ expired, purged }));
  }

  async stats(): Promise<StoreReply<LockStats>> {
    const call = this.begin();
    // Only due locks need a look: they are ACTIVE as recorded but EXPIRED for every reader.
    let due = 0;
    const dueByUser = new Map<string, number>();
    const dueByCategory = new Map<Category, number>();
    this.dueOrder.forEachUpTo(call.now, (id) => {
      const { record, category } = this.mustGet(id);
      due++;
      dueByUser.set(record.userId, (dueByUser.get(record.userId) ?? 0) + 1);
      dueByCategory.set(category, (dueByCategory.get(category) ?? 0) + 1);
    });
    let idleUsers = 0;
    for (const [userId, count] of dueByUser) if (this.byUser.get(userId)?.size === count) idleUsers++;
    let idleCategories = 0;
    for (const [category, count] of dueByCategory) if (category.active.size === count) idleCategories++;

    const locksByStatus = {
      active: this.recorded.ACTIVE - due,
      expired: this.recorded.EXPIRED + due,
      confirmed: this.recorded.CONFIRMED,
      released: this.recorded.RELEASED,
    };
    return this.finish(call, () => ({
      totalLocks: locksByStatus.active + locksByStatus.expired + locksByStatus.confirmed + locksByStatus.released,
      activeLocks: locksByStatus.active,
      usersWithLocks: this.byUser.size - idleUsers,
      categoriesWithLocks: this.activeCategories.size - idleCategories,
      locksByStatus,
    }));
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // --- internals -----------------------------------------------------------------------------

  /** Whether `orderKey` already settled a confirm of this category (within retention); remembers it if not. */
  private settledOrder(category: Category, orderKey: string, now: number): boolean {
    const key = `${idKey(category.eventId)}\u0000${idKey(category.categoryId)}\u0000${orderKey}`;
    for (const [known, forgetAt] of this.settledOrders) if (forgetAt <= now) this.settledOrders.delete(known);
    if (this.settledOrders.has(key)) return true;
    this.settledOrders.set(key, now + this.policy.retentionMs);
    return false;
  }

  private begin(): Call {
    return { now: this.clock(), transitions: [], touched: new Map(), seatChanges: new Map() };
  }

  /** Bumps the versions of changed categories, then reads the value and their fresh counts. */
  private finish<T>(call: Call, read: () => T): StoreReply<T> {
    for (const [category, changed] of call.touched) if (changed) category.version++;
    const availability = [...call.touched.keys()].map((category) => this.availabilityOf(category, call.now));
    const seats: SeatDelta[] = [];
    for (const [event, changes] of call.seatChanges) {
      if (changes.size === 0) continue;
      event.seatVersion++;
      seats.push({ eventId: event.id, fromVersion: event.seatVersion - 1, version: event.seatVersion, changes: [...changes.values()] });
    }
    const reply: StoreReply<T> = { now: call.now, value: read(), transitions: call.transitions, availability };
    if (seats.length > 0) reply.seats = seats;
    return reply;
  }

  /**
   * A refusal after this call may have recorded an expiry (the only change it makes). Versions
   * still rise, and the error carries the changes, so the owner still hears of the expiry exactly once.
   */
  private refuse(call: Call, code: ErrorCode, status: LockStatus): LockError {
    const { now, transitions, availability, seats } = this.finish(call, () => undefined);
    // Only a refusal that recorded something carries changes (as the Redis store's do).
    const recorded = transitions.length + availability.length + (seats?.length ?? 0) > 0;
    return new LockError(code, undefined, status, recorded ? { now, transitions, availability, ...(seats ? { seats } : {}) } : undefined);
  }

  /** unlock/extend: only a lock ACTIVE at `now` may go on; a due one has its expiry recorded. */
  private refuseUnlessActive(call: Call, held: Held): void {
    const { record } = held;
    const status = effectiveStatus(record, call.now);
    if (status === 'ACTIVE') return;
    if (status === 'EXPIRED') {
      if (record.status === 'ACTIVE') this.transition(call, held, 'EXPIRED', {});
      throw this.refuse(call, 'LOCK_EXPIRED', 'EXPIRED');
    }
    throw new LockError('LOCK_NOT_ACTIVE', undefined, status);
  }

  /**
   * Records a lifecycle transition: moves the quantity out of `locked` (and into `sold` on
   * confirm), keeps the indexes and status counts in step, and queues the lock for the purge.
   */
  private transition(
    call: Call,
    held: Held,
    to: TerminalStatus,
    fields: Pick<LockRecord, 'confirmedAt' | 'releasedAt' | 'orderId' | 'reason'>,
  ): void {
    const { record, category } = held;
    const from = record.status;
    if (!canTransition(from, to)) throw new Error(`illegal lock transition ${from} → ${to}`);
    if (from === 'ACTIVE') {
      this.deactivate(held);
      category.lockedRecorded -= record.quantity;
      if (record.seats) this.freeSeats(call, record.lockId, this.seatsOf(category, record.seats));
    }
    if (to === 'CONFIRMED') {
      category.sold += record.quantity;
      // The sales ledger does not show this sale until its order completes (followLedger).
      category.pending?.set(record.lockId, call.now);
      if (record.seats) this.sellSeats(call, this.seatsOf(category, record.seats));
      // The buyer is done: their waiting room admission ends, freeing the slot at once.
      this.admission?.lockConfirmed(idKey(record.eventId), record.userId, call.now);
    }
    this.recorded[from]--;
    this.recorded[to]++;
    Object.assign(record, fields);
    record.status = to;
    // An expired lock became terminal at its expiresAt, whenever the expiry gets recorded.
    this.terminalOrder.set(record.lockId, to === 'EXPIRED' ? record.expiresAt : call.now);
    touch(call, category, true);
    call.transitions.push({ event: EVENT_OF[to], lock: { ...record } });
  }

  // --- reserved seating ------------------------------------------------------------------------

  /** A seat's status at `now`: a seat of a lock past its expiresAt is available, sweep or not. */
  private seatStatus(seat: Seat, now: number): SeatStatus {
    if (seat.blocked) return 'blocked';
    if (seat.sold) return 'sold';
    if (seat.holder !== undefined) {
      const holder = this.locks.get(seat.holder)?.record;
      if (holder && holder.status === 'ACTIVE' && holder.expiresAt > now) return 'held';
    }
    return 'available';
  }

  private seatsOf(category: Category, seatIds: readonly string[]): Seat[] {
    const event = this.catalog.get(idKey(category.eventId));
    return seatIds.map((id) => {
      const seat = event?.seats.get(id);
      if (!seat) throw new Error(`seat index out of step: ${id}`);
      return seat;
    });
  }

  private freeFlags(category: Category, now: number): boolean[][] {
    return (category.layout?.rows ?? []).map((row) => row.map((seat) => this.seatStatus(seat, now) === 'available'));
  }

  /** Best available (domain `pickBestAvailable`) on the category's seats at `now`. */
  private bestAvailable(category: Category, quantity: number, now: number): Seat[] {
    const pick = pickBestAvailable(this.freeFlags(category, now), quantity);
    const row = category.layout?.rows[pick.row] ?? [];
    return row.slice(pick.start, pick.start + quantity);
  }

  /** The seats a hold of `seats` would strand (domain `strandedByHold`, per row touched). */
  private strandedBy(category: Category, seats: Seat[], now: number): string[] {
    const flags = this.freeFlags(category, now);
    const byRow = new Map<number, number[]>();
    for (const seat of seats) byRow.set(seat.row, [...(byRow.get(seat.row) ?? []), seat.pos]);
    const stranded: string[] = [];
    for (const [row, taking] of byRow) {
      for (const pos of strandedByHold(flags[row] as boolean[], taking)) stranded.push((category.layout?.rows[row]?.[pos] as Seat).seatId);
    }
    return stranded;
  }

  private seatChange(call: Call, seat: Seat, status: SeatStatus): void {
    const event = this.catalog.get(idKey(seat.category.eventId)) as CatalogEvent;
    let changes = call.seatChanges.get(event);
    if (!changes) {
      changes = new Map();
      call.seatChanges.set(event, changes);
    }
    // The last status wins; a seat keeps the place of its first change (as in the Lua twin).
    changes.set(seat.seatId, { seatId: seat.seatId, categoryId: seat.category.categoryId, status });
  }

  /**
   * A new ACTIVE lock of `quantity` (with `seats` on a reserved category): recorded, indexed, counted
   * and announced as `created`. The twin of the Lua prelude's grantLock(); lock and holdSeats both end here.
   */
  private grantLock(
    call: Call,
    category: Category,
    request: { userId: string; sessionId: string; requestId?: string },
    quantity: number,
    seats: Seat[] | undefined,
    now: number,
  ): LockRecord {
    const record: LockRecord = {
      lockId: this.newLockId(),
      eventId: category.eventId,
      categoryId: category.categoryId,
      quantity,
      userId: request.userId,
      sessionId: request.sessionId,
      status: 'ACTIVE',
      createdAt: now,
      expiresAt: now + this.policy.lockDurationMs,
    };
    if (request.requestId !== undefined) record.requestId = request.requestId;
    if (seats) this.takeSeats(call, record, seats);
    const held: Held = { record, category };
    this.locks.set(record.lockId, held);
    this.recorded.ACTIVE++;
    this.activate(held);
    category.lockedRecorded += quantity;
    touch(call, category, true);
    // takeSeats replaces the seats array, never changes it in place: a shallow copy is a snapshot.
    call.transitions.push({ event: 'created', lock: { ...record } });
    return record;
  }

  private takeSeats(call: Call, record: LockRecord, seats: Seat[]): void {
    record.seats = [...(record.seats ?? []), ...seats.map((seat) => seat.seatId)];
    for (const seat of seats) {
      seat.holder = record.lockId;
      this.seatChange(call, seat, 'held');
    }
  }

  /** The lock's seats become available, except those another lock has taken since it fell due. */
  private freeSeats(call: Call, lockId: string, seats: Seat[]): void {
    for (const seat of seats) {
      if (seat.holder !== lockId) continue;
      seat.holder = undefined;
      this.seatChange(call, seat, 'available');
    }
  }

  /**
   * Whether the user may take a new lock in `category` at `now` (else DUPLICATE_LOCK / TOO_MANY_LOCKS);
   * answers the user's due lock there, whose expiry is recorded only if the new lock is granted.
   */
  private roomForNewLock(userId: string, category: Category, now: number): Held | undefined {
    let live = 0;
    let dueHere: Held | undefined;
    for (const held of this.heldBy(this.byUser, userId)) {
      const here = held.category === category;
      if (held.record.expiresAt <= now) {
        if (here) dueHere = held;
        continue;
      }
      if (here) throw new LockError('DUPLICATE_LOCK');
      live++;
    }
    if (live >= this.policy.maxActiveLocksPerUser) throw new LockError('TOO_MANY_LOCKS');
    return dueHere;
  }

  private sellSeats(call: Call, seats: Seat[]): void {
    for (const seat of seats) {
      seat.holder = undefined;
      seat.sold = true;
      this.seatChange(call, seat, 'sold');
    }
  }

  /** `unlock` of a seat lock: by `seatIds` (all of them → RELEASED) or whole; never by quantity. */
  private unlockSeats(call: Call, held: Held, request: UnlockRequest): StoreReply<UnlockResult> {
    const { record, category } = held;
    const current = record.seats;
    if (current === undefined) throw new LockError('VALIDATION_FAILED', 'seatIds only apply to a seat lock');
    if (request.quantity !== undefined) throw new LockError('VALIDATION_FAILED', 'a seat lock is unlocked by seatIds, not quantity');
    const seatIds = request.seatIds === undefined ? [...current] : requireSeatIds(request.seatIds, this.policy.maxTicketsPerLock);
    const foreign = seatIds.filter((id) => !current.includes(id));
    if (foreign.length > 0) throw new LockError('VALIDATION_FAILED', 'some seats are not held by this lock', undefined, undefined, undefined, foreign);
    if (seatIds.length < current.length) {
      record.seats = current.filter((id) => !seatIds.includes(id));
      record.quantity = record.seats.length;
      category.lockedRecorded -= seatIds.length;
      this.freeSeats(call, record.lockId, this.seatsOf(category, seatIds));
      touch(call, category, true);
      return this.finish(call, () => ({ lock: { ...record, seats: [...(record.seats ?? [])] }, releasedQuantity: seatIds.length, remainingQuantity: record.quantity }));
    }
    this.transition(call, held, 'RELEASED', { releasedAt: call.now, reason: 'user-unlock' });
    return this.finish(call, () => ({ lock: { ...record, seats: [...current] }, releasedQuantity: seatIds.length, remainingQuantity: 0 }));
  }

  /** Layouts are checked before anything is defined: a bad one changes nothing. */
  private checkLayouts(event: EventInfo): void {
    const known = this.catalog.get(idKey(event.id));
    const defining = new Set(event.categories.map((c) => idKey(c.categoryId)));
    const taken = new Set<string>();
    // Seats of the event's other (already defined) categories stay theirs.
    for (const seat of known?.seats.values() ?? []) if (!defining.has(idKey(seat.category.categoryId))) taken.add(seat.seatId);
    for (const info of event.categories) {
      if (!info.seats) continue;
      const problems = layoutProblems(info.seats, taken);
      if (problems.length > 0) throw new LockError('VALIDATION_FAILED', `category ${idKey(info.categoryId)}: ${problems.slice(0, 3).join('; ')}`);
      for (const row of info.seats.rows) for (const seat of row.seats) taken.add(seat);
    }
  }

  /** Defines (or redefines) a category's seats; seats kept across a redefinition keep their state. */
  private putLayout(event: CatalogEvent, category: Category, layout: SeatLayout): void {
    const previous = new Map<string, Seat>();
    for (const row of category.layout?.rows ?? []) for (const seat of row) previous.set(seat.seatId, seat);
    for (const id of previous.keys()) event.seats.delete(id);
    const blocked = new Set(layout.blocked ?? []);
    const rows = layout.rows.map((row, r) =>
      row.seats.map((seatId, pos) => {
        const old = previous.get(seatId);
        const seat: Seat = { seatId, category, row: r, pos, blocked: blocked.has(seatId), sold: old?.sold ?? false };
        if (old?.holder !== undefined) seat.holder = old.holder;
        event.seats.set(seatId, seat);
        return seat;
      }),
    );
    category.layout = { names: layout.rows.map((row) => row.row), rows };
  }

  private activate(held: Held): void {
    const { record, category } = held;
    category.active.set(record.lockId, record.expiresAt);
    this.activeCategories.add(category);
    this.dueOrder.set(record.lockId, record.expiresAt);
    addTo(this.byUser, record.userId, record.lockId);
    addTo(this.bySession, record.sessionId, record.lockId);
  }

  private deactivate(held: Held): void {
    const { record, category } = held;
    category.active.delete(record.lockId);
    if (category.active.size === 0) this.activeCategories.delete(category);
    this.dueOrder.delete(record.lockId);
    removeFrom(this.byUser, record.userId, record.lockId);
    removeFrom(this.bySession, record.sessionId, record.lockId);
  }

  private *heldBy(index: Map<string, Set<string>>, key: string): Generator<Held> {
    for (const lockId of index.get(key) ?? []) yield this.mustGet(lockId);
  }

  private mustGet(lockId: string): Held {
    const held = this.locks.get(lockId);
    if (!held) throw new Error(`lock index out of step: ${lockId}`);
    return held;
  }

  /** Counts at `now`: due locks no longer count, sweep or not. */
  private countsOf(category: Category, now: number): { locked: number; available: number } {
    let due = 0;
    category.active.forEachUpTo(now, (id) => {
      due += this.mustGet(id).record.quantity;
    });
    const locked = category.lockedRecorded - due;
    return { locked, available: availableTickets(category.total, category.sold, locked) };
  }

  private availabilityOf(category: Category, now: number): Availability {
    const { locked, available } = this.countsOf(category, now);
    return {
      eventId: category.eventId,
      categoryId: category.categoryId,
      totalTickets: category.total,
      availableTickets: available,
      lockedTickets: locked,
      soldTickets: category.sold,
      version: category.version,
      timestamp: new Date(now).toISOString(),
    };
  }

  private ensureEvent(eventId: CatalogId): CatalogEvent {
    const key = idKey(eventId);
    let event = this.catalog.get(key);
    if (!event) {
      event = { id: eventId, categories: new Map(), seats: new Map(), seatVersion: 1 };
      this.catalog.set(key, event);
    }
    return event;
  }

  /**
   * Defines a category at version 1 (with `sold` from a sales ledger: that many sold, following the
   * ledger), or (with `replaceTotal`) gives a known one its new total.
   */
  private putCategory(call: Call, event: CatalogEvent, categoryId: CatalogId, total: number, replaceTotal: boolean, sold?: number): Category {
    const key = idKey(categoryId);
    const known = event.categories.get(key);
    if (!known) {
      const created: Category = { eventId: event.id, categoryId, total, sold: sold ?? 0, lockedRecorded: 0, version: 1, active: new IndexedMinHeap() };
      if (sold !== undefined) {
        created.ledger = sold;
        created.pending = new Map();
      }
      event.categories.set(key, created);
      touch(call, created, false);
      return created;
    }
    if (replaceTotal && known.total !== total) {
      known.total = total;
      touch(call, known, true);
    }
    return known;
  }
}

/** Oldest first; locks created in one millisecond by id (the Redis store's order too). */
function byCreation(a: LockRecord, b: LockRecord): number {
  return a.createdAt - b.createdAt || (a.lockId < b.lockId ? -1 : a.lockId > b.lockId ? 1 : 0);
}

/** What a `hold-seats` asked, so a retry with the same requestId can be told apart from another request. */
function seatRequestFingerprint(request: SeatHoldRequest): string {
  return [idKey(request.eventId), request.lockId ?? '', [...request.seatIds].sort().join(' ')].join('\n');
}

function isQuantity(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= max;
}

function checkTotal(total: number): void {
  if (!Number.isSafeInteger(total) || total < 0) throw new LockError('VALIDATION_FAILED', 'totalTickets must be a non-negative integer');
}

function touch(call: Call, category: Category, changed: boolean): void {
  call.touched.set(category, changed || (call.touched.get(category) ?? false));
}

function addTo(index: Map<string, Set<string>>, key: string, lockId: string): void {
  let ids = index.get(key);
  if (!ids) {
    ids = new Set();
    index.set(key, ids);
  }
  ids.add(lockId);
}

function removeFrom(index: Map<string, Set<string>>, key: string, lockId: string): void {
  const ids = index.get(key);
  if (!ids) return;
  ids.delete(lockId);
  if (ids.size === 0) index.delete(key);
}

/** An id sent along with a lockId names nothing new: absent, or the lock's own. */
function sameOrAbsent(sent: CatalogId | undefined, actual: CatalogId): boolean {
  return sent === undefined || idKey(sent) === idKey(actual);
}
