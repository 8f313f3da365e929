import {
  LockError,
  idKey,
  requireId,
  requireText,
  requireWaitingRoomSettings,
  type Admission,
  type AdmissionGate,
  type AdmitResult,
  type CatalogId,
  type QueueJoin,
  type QueueSnapshot,
  type RoomReply,
  type WaitingRoomSettings,
  type WaitingRoomStore,
} from '#lock-domain';
import { admissionCredit, randomPlaceKey, MAX_SKIPS_PER_TICK } from '../waiting-room-rules.js';

interface Room {
  eventId: CatalogId;
  settings: WaitingRoomSettings;
  enabled: boolean;
  closed: boolean;
  /** The early joiners have been given their random places. */
  placed: boolean;
  serving: number;
  /** The last place number handed out. */
  tail: number;
  credit: number;
  lastTick: number;
  admittedTotal: number;
  version: number;
  /** Early joiners → their random sort key (the order they get at `salesStartAt`). */
  early: Map<string, number>;
  /** Waiting users → place, in place order (places are handed out increasing). */
  queue: Map<string, number>;
  admitted: Map<string, Admission>;
  /** Users present in the room → when a socket of theirs was last seen. */
  seenAt: Map<string, number>;
}

export interface InProcessWaitingRoomOptions {
  clock?: () => number;
  /** Whether every category of the event is sold out (the room then closes). */
  soldOut?: (eventKey: string) => boolean;
  /** The event's id in the catalog's form, when the lock store knows the event. */
  catalogId?: (eventKey: string) => CatalogId | undefined;
}

/**
 * The waiting rooms for the zero-configuration mode, with the semantics of the Redis store (the
 * shared contract suite runs against both). Every method is synchronous between reading the clock
 * and answering, so each call is atomic on Node's single thread. It is also the
 * {@link AdmissionGate} the in-process lock store consults inside its own `lock` and `confirm`.
 */
export class InProcessWaitingRoom implements WaitingRoomStore, AdmissionGate {
  private readonly rooms = new Map<string, Room>();
  private leaseHolder: { owner: string; until: number } | undefined;
  private readonly clock: () => number;
  private readonly soldOut: (eventKey: string) => boolean;
  private readonly catalogId: (eventKey: string) => CatalogId | undefined;

  constructor(options: InProcessWaitingRoomOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.soldOut = options.soldOut ?? (() => false);
    this.catalogId = options.catalogId ?? (() => undefined);
  }

  async configure(eventId: CatalogId, settings: WaitingRoomSettings | null): Promise<RoomReply<QueueSnapshot>> {
    const now = this.clock();
    requireId(eventId);
    const key = idKey(eventId);
    let room = this.rooms.get(key);
    if (settings === null) {
      if (!room) throw new LockError('QUEUE_NOT_FOUND');
      if (room.enabled || !room.closed) {
        room.enabled = false;
        this.closeRoom(room);
      }
      return { now, value: this.snapshot(room, now) };
    }
    requireWaitingRoomSettings(settings);
    if (!room) {
      room = {
        // Pushes carry the id in the catalog's form when the lock store knows the event.
        eventId: this.catalogId(key) ?? eventId,
        settings: { ...settings },
        enabled: true,
        closed: false,
        placed: false,
        serving: 0,
        tail: 0,
        credit: 0,
        lastTick: now,
        admittedTotal: 0,
        version: 1,
        early: new Map(),
        queue: new Map(),
        admitted: new Map(),
        seenAt: new Map(),
      };
      this.rooms.set(key, room);
      return { now, value: this.snapshot(room, now) };
    }
    // Once places exist, a new start time would reorder nobody: it is kept as it was.
    const salesStartAt = room.placed ? room.settings.salesStartAt : settings.salesStartAt;
    const next: WaitingRoomSettings = { ...settings };
    if (salesStartAt === undefined) delete next.salesStartAt;
    else next.salesStartAt = salesStartAt;
    if (!room.enabled || room.closed || !sameSettings(room.settings, next)) {
      if (!room.enabled) room.lastTick = now;
      room.settings = next;
      room.enabled = true;
      room.closed = false;
      room.version++;
    }
    return { now, value: this.snapshot(room, now) };
  }

  async join(eventId: CatalogId, userId: string): Promise<RoomReply<QueueJoin>> {
    const now = this.clock();
    requireText(userId);
    const room = this.openRoom(eventId);
    room.seenAt.set(userId, now);
    const admission = room.admitted.get(userId);
    if (admission && admission.expiresAt > now) {
      return { now, value: { entry: { state: 'admitted', admittedAt: admission.admittedAt, admissionExpiresAt: admission.expiresAt }, snapshot: this.snapshot(room, now) } };
    }
    this.placeEarlyJoinersIfDue(room, now);
    if (!room.queue.has(userId) && !room.early.has(userId)) {
      if (room.placed) room.queue.set(userId, ++room.tail);
      else room.early.set(userId, randomPlaceKey());
      room.version++;
    }
    const position = room.queue.get(userId);
    const entry = position === undefined ? { state: 'waiting' as const } : { state: 'waiting' as const, position, ahead: this.ahead(room, position) };
    return { now, value: { entry, snapshot: this.snapshot(room, now) } };
  }

  async leave(eventId: CatalogId, userId: string): Promise<RoomReply<{ left: boolean; snapshot: QueueSnapshot }>> {
    const now = this.clock();
    requireText(userId);
    const room = this.room(eventId);
    const left = [room.early.delete(userId), room.queue.delete(userId), room.admitted.delete(userId)].some(Boolean);
    room.seenAt.delete(userId);
    if (left) room.version++;
    return { now, value: { left, snapshot: this.snapshot(room, now) } };
  }

  async admission(eventId: CatalogId, userId: string): Promise<RoomReply<Admission | null>> {
    const now = this.clock();
    const room = this.room(eventId);
    const admission = room.admitted.get(userId);
    return { now, value: admission && admission.expiresAt > now ? { ...admission } : null };
  }

  async seen(eventId: CatalogId, userIds: string[]): Promise<void> {
    const now = this.clock();
    const room = this.rooms.get(lookupKey(eventId));
    if (!room) return;
    for (const userId of userIds) if (room.seenAt.has(userId)) room.seenAt.set(userId, now);
  }

  async admit(eventId: CatalogId, options: { abandonMs: number }): Promise<RoomReply<AdmitResult>> {
    const now = this.clock();
    const room = this.room(eventId);
    const result: AdmitResult = { snapshot: this.snapshot(room, now), admitted: [], abandoned: [], closedNow: false };
    if (!room.enabled || room.closed) return { now, value: result };
    for (const [userId, admission] of room.admitted) {
      if (admission.expiresAt <= now) {
        room.admitted.delete(userId);
        // Forgotten unless they queue again (join does not wait for this cleanup).
        if (!room.queue.has(userId) && !room.early.has(userId)) room.seenAt.delete(userId);
        room.version++;
      }
    }
    const { salesStartAt } = room.settings;
    if (salesStartAt !== undefined && now < salesStartAt) {
      // Nobody is admitted before the sales start, and no credit builds up meanwhile.
      room.lastTick = now;
      return { now, value: { ...result, snapshot: this.snapshot(room, now) } };
    }
    this.placeEarlyJoinersIfDue(room, now);
    if (this.soldOut(idKey(room.eventId))) {
      this.closeRoom(room);
      return { now, value: { ...result, closedNow: true, snapshot: this.snapshot(room, now) } };
    }
    room.credit = admissionCredit(room.credit, room.settings.admitPerMinute, now - room.lastTick);
    room.lastTick = now;
    let active = this.activeUsers(room, now);
    let skips = 0;
    while (room.credit >= 1 && active < room.settings.maxActiveUsers && skips < MAX_SKIPS_PER_TICK) {
      const next = room.queue.entries().next();
      if (next.done) break;
      const [userId, position] = next.value;
      room.queue.delete(userId);
      room.serving = position;
      room.version++;
      if ((room.seenAt.get(userId) ?? 0) <= now - options.abandonMs) {
        room.seenAt.delete(userId);
        result.abandoned.push(userId);
        skips++;
        continue;
      }
      const admission: Admission = { userId, admittedAt: now, expiresAt: now + room.settings.admissionMs };
      room.admitted.set(userId, admission);
      room.admittedTotal++;
      room.credit -= 1;
      active++;
      result.admitted.push({ ...admission });
    }
    return { now, value: { ...result, snapshot: this.snapshot(room, now) } };
  }

  async snapshots(): Promise<RoomReply<QueueSnapshot[]>> {
    const now = this.clock();
    return { now, value: [...this.rooms.values()].map((room) => this.snapshot(room, now)) };
  }

  async lease(owner: string, ttlMs: number): Promise<boolean> {
    const now = this.clock();
    const holder = this.leaseHolder;
    if (holder && holder.owner !== owner && holder.until > now) return false;
    this.leaseHolder = { owner, until: now + ttlMs };
    return true;
  }

  async releaseLease(owner: string): Promise<void> {
    if (this.leaseHolder?.owner === owner) this.leaseHolder = undefined;
  }

  async close(): Promise<void> {}

  // --- AdmissionGate: called synchronously from inside the in-process lock store's calls ----------

  admissionRequired(eventKey: string, userId: string, now: number): boolean {
    const room = this.rooms.get(eventKey);
    if (!room || !room.enabled) return false;
    const admission = room.admitted.get(userId);
    return !(admission && admission.expiresAt > now);
  }

  lockConfirmed(eventKey: string, userId: string): void {
    const room = this.rooms.get(eventKey);
    if (room?.admitted.delete(userId)) {
      // An admitted user waits nowhere: nothing of theirs is left in the room.
      room.seenAt.delete(userId);
      room.version++;
    }
  }

  // --- internals -----------------------------------------------------------------------------

  private room(eventId: CatalogId): Room {
    const room = this.rooms.get(lookupKey(eventId));
    if (!room) throw new LockError('QUEUE_NOT_FOUND');
    return room;
  }

  private openRoom(eventId: CatalogId): Room {
    const room = this.room(eventId);
    if (!room.enabled || room.closed) throw new LockError('QUEUE_CLOSED');
    return room;
  }

  /** At `salesStartAt`, the early joiners get places in the order of their random keys. */
  private placeEarlyJoinersIfDue(room: Room, now: number): void {
    if (room.placed) return;
    const { salesStartAt } = room.settings;
    if (salesStartAt !== undefined && now < salesStartAt) return;
    const order = [...room.early].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    for (const [userId] of order) room.queue.set(userId, ++room.tail);
    room.early.clear();
    room.placed = true;
    if (order.length > 0) room.version++;
  }

  private closeRoom(room: Room): void {
    room.closed = true;
    room.early.clear();
    room.queue.clear();
    if (!room.enabled) room.admitted.clear();
    room.seenAt.clear();
    room.version++;
  }

  private ahead(room: Room, position: number): number {
    let ahead = 0;
    for (const place of room.queue.values()) {
      if (place >= position) break;
      ahead++;
    }
    return ahead;
  }

  private activeUsers(room: Room, now: number): number {
    let active = 0;
    for (const admission of room.admitted.values()) if (admission.expiresAt > now) active++;
    return active;
  }

  private snapshot(room: Room, now: number): QueueSnapshot {
    const { settings } = room;
    return {
      eventId: room.eventId,
      enabled: room.enabled,
      closed: room.closed,
      servingPosition: room.serving,
      queueLength: room.queue.size + room.early.size,
      activeUsers: this.activeUsers(room, now),
      admitPerMinute: settings.admitPerMinute,
      maxActiveUsers: settings.maxActiveUsers,
      admissionMs: settings.admissionMs,
      admittedTotal: room.admittedTotal,
      ...(settings.salesStartAt === undefined ? {} : { salesStartAt: settings.salesStartAt }),
      version: room.version,
    };
  }
}

function sameSettings(a: WaitingRoomSettings, b: WaitingRoomSettings): boolean {
  return a.admitPerMinute === b.admitPerMinute && a.maxActiveUsers === b.maxActiveUsers && a.admissionMs === b.admissionMs && a.salesStartAt === b.salesStartAt;
}

function lookupKey(id: CatalogId): string {
  if (typeof id !== 'number' && typeof id !== 'string') throw new LockError('VALIDATION_FAILED');
  return idKey(id);
}
