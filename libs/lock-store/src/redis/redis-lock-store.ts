import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import {
  LockError,
  defaultMessage,
  idKey,
  isErrorCode,
  layoutProblems,
  requireId,
  requireSeatIds,
  sellableSeats,
  requireText,
  type Availability,
  type CatalogId,
  type EventInfo,
  type LedgerReading,
  type LedgerSettlement,
  type LockChanges,
  type LockGranted,
  type LockPolicy,
  type LockRecord,
  type LockRequest,
  type LockStats,
  type LockStore,
  type LockTransition,
  type SeatDelta,
  type SeatHoldRequest,
  type SeatMap,
  type SeatStatus,
  type StoreReply,
  type SweepResult,
  type UnlockRequest,
  type UnlockResult,
} from '#lock-domain';
import { SCRIPTS, type ScriptName } from './lua.js';
import { MalformedReplyError, VALUES, parseReply, rawReply } from './replies.js';
import { isValidOrigin, isValidPrefix, keyBase } from './redis-keys.js';

export interface RedisLockStoreOptions {
  /**
   * An ioredis connection, or a Redis URL. A connection passed in stays the caller's (`close()`
   * leaves it open); one the store creates from a URL is closed by `close()`.
   */
  redis: Redis | string;
  /** The lock rules; passed to every script, so instances with one prefix must share them. */
  policy: LockPolicy;
  /** Key prefix; every key is `{<keyPrefix>}:…` (one Cluster hash slot). Default `tl`. */
  keyPrefix?: string;
  /**
   * Also append every lifecycle transition to the `{prefix}:outbox` stream in the same script
   * (for the RabbitMQ relay, which must trim what it has published). Default `false`: nothing is
   * appended, so nothing grows without a consumer.
   */
  outbox?: boolean;
  /**
   * Announce every change on the `{prefix}:changes` channel from inside the same script, tagged
   * with this id (no whitespace), for the other instances' `RedisLockChangeFeed`s: only while
   * someone but this origin's own feed listens (alone, nobody would hear it). Default: not announced.
   */
  origin?: string;
  /**
   * Tests only: the instant every script takes as `now` instead of Redis `TIME` (the model-based
   * test drives this store and the in-process one from one clock). Never set in the service.
   */
  clock?: () => number;
  /** Tests only: lock ids instead of random UUIDs (so two stores given one sequence name locks alike). */
  newLockId?: () => string;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** Changes as the scripts print them (in replies and in announcements), once checked (replies.ts). */
export interface RawChanges {
  now: number;
  transitions: LockTransition[];
  availability: Omit<Availability, 'timestamp'>[];
  seats?: SeatDelta[];
}

type IdType = 'n' | 's';

interface SeatLayoutCache {
  layout: number;
  categories: Array<{ categoryId: CatalogId; rows: Array<{ row: string; seats: string[] }> }>;
}

const POLICY_FIELDS = ['lockDurationMs', 'maxLifetimeMs', 'maxActiveLocksPerUser', 'maxTicketsPerLock', 'retentionMs'] as const;

/**
 * The lock store on Redis: every method is one Lua script (EVALSHA, one round trip), atomic, timed
 * by Redis `TIME`. Semantics: docs/lock-store.md; key layout: redis-keys.ts; scripts: lua.ts (prelude + one file per script in lua/).
 */
export class RedisLockStore implements LockStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly base: string;
  private readonly header: string[];
  private readonly commands: Record<ScriptName, string>;
  private readonly clock: (() => number) | undefined;
  private readonly newLockId: () => string;
  private readonly maxSeats: number;
  /** Seat layouts by event key, with the layout version they were read at (see {@link seatMap}). */
  private readonly layouts = new Map<string, SeatLayoutCache>();
  private readonly orphanRule: string;

  constructor(options: RedisLockStoreOptions) {
    const prefix = options.keyPrefix ?? 'tl';
    if (!isValidPrefix(prefix)) throw new Error(`Invalid Redis key prefix: ${JSON.stringify(prefix)}`);
    const { policy } = options;
    for (const name of POLICY_FIELDS) {
      const value = policy[name];
      if (!Number.isSafeInteger(value) || value < 1) throw new Error(`Invalid lock policy: ${name}=${String(value)}`);
    }
    this.owned = typeof options.redis === 'string';
    this.redis = typeof options.redis === 'string' ? new Redis(options.redis) : options.redis;
    this.base = keyBase(prefix);
    // Order = ARGV[1..7] of every script (lua/prelude.ts); ARGV[8], the clock, is added per call.
    this.header = POLICY_FIELDS.map((name) => String(policy[name]));
    this.maxSeats = policy.maxTicketsPerLock;
    this.orphanRule = policy.seatOrphanRule ?? 'off';
    this.header.push(options.outbox ? '1' : '0');
    if (options.origin !== undefined && !isValidOrigin(options.origin)) throw new Error(`Invalid origin: ${JSON.stringify(options.origin)}`);
    this.header.push(options.origin ?? '');
    this.clock = options.clock;
    this.newLockId = options.newLockId ?? randomUUID;
    // Command names carry the script's hash: stores of different versions may share a connection.
    const commands = {} as Record<ScriptName, string>;
    for (const [op, lua] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
      const name = `ticketLock_${op}_${createHash('sha1').update(lua).digest('hex').slice(0, 8)}`;
      this.redis.defineCommand(name, { lua, numberOfKeys: 1 });
      commands[op] = name;
    }
    this.commands = commands;
  }

  async defineEvent(event: EventInfo, options: { replaceTotals: boolean }): Promise<StoreReply<Availability[]>> {
    const [ek, eidt] = catalogId(event.id);
    const args: string[] = [ek, eidt, ...optional(event.name), options.replaceTotals ? '1' : '0', String(event.categories.length)];
    const seen = new Set<string>();
    for (const category of event.categories) {
      const [ck, cidt] = catalogId(category.categoryId);
      const layout = category.seats;
      if (layout) {
        // Checked here (ids, repeats within the event being defined); the script checks the seats stored before.
        const problems = layoutProblems(layout, seen);
        if (problems.length > 0) throw new LockError('VALIDATION_FAILED', `category ${ck}: ${problems.slice(0, 3).join('; ')}`);
        for (const row of layout.rows) for (const seat of row.seats) seen.add(seat);
      }
      const total = layout ? sellableSeats(layout) : category.totalTickets;
      const seats = layout ? JSON.stringify({ rows: layout.rows.map((r) => ({ row: r.row, seats: r.seats })), blocked: layout.blocked ?? [] }) : '';
      args.push(ck, cidt, String(total), ...optional(category.name), category.soldTickets === undefined ? '' : String(category.soldTickets), seats);
    }
    return stamped(await this.call('defineEvent', args, VALUES.countsList));
  }

  async events(): Promise<StoreReply<EventInfo[]>> {
    return this.call('events', [], VALUES.events);
  }

  async lock(request: LockRequest): Promise<StoreReply<LockGranted>> {
    const args = [
      this.newLockId(),
      lookupKey(request.eventId),
      lookupKey(request.categoryId),
      String(request.hold.quantity),
      requireText(request.userId),
      requireText(request.sessionId),
      request.requestId === undefined ? '' : requireText(request.requestId),
    ];
    return this.call('lock', args, VALUES.granted);
  }

  async holdSeats(request: SeatHoldRequest): Promise<StoreReply<LockGranted>> {
    const seatIds = requireSeatIds(request.seatIds, this.maxSeats);
    const asked = [lookupKey(request.eventId), request.lockId ?? '', [...seatIds].sort().join(' ')].join('\n');
    const args = [
      randomUUID(),
      lookupKey(request.eventId),
      requireText(request.userId),
      requireText(request.sessionId),
      request.requestId === undefined ? '' : requireText(request.requestId),
      request.lockId === undefined ? '' : requireText(request.lockId),
      this.orphanRule,
      asked,
      String(seatIds.length),
      ...seatIds,
    ];
    return this.call('holdSeats', args, VALUES.granted);
  }

  /**
   * The seat map: one script reads the seats that are taken (and the event's seat and layout
   * versions); the layout, which changes only when the catalog redefines it, is read once per layout
   * version and kept here. So a 100,000-seat map costs Redis the taken seats, not every seat.
   */
  async seatMap(eventId: CatalogId): Promise<StoreReply<SeatMap>> {
    const ek = lookupKey(eventId);
    for (let attempt = 0; ; attempt++) {
      const reply = await this.call('seatMap', [ek], VALUES.seatStates);
      const layout = await this.layoutOf(ek, reply.value.layout);
      // A redefinition between the two reads: read again (it cannot keep happening).
      if (layout.layout !== reply.value.layout && attempt < 3) continue;
      const taken = new Map<string, SeatStatus>();
      const states = reply.value.states;
      for (let i = 0; i < states.length; i += 2) taken.set(states[i] as string, states[i + 1] as SeatStatus);
      const categories = layout.categories.map((category) => ({
        categoryId: category.categoryId,
        rows: category.rows.map((row) => ({ row: row.row, seats: row.seats.map((seatId) => ({ seatId, status: taken.get(seatId) ?? 'available' })) })),
      }));
      const { layout: _version, states: _states, ...rest } = reply.value;
      return { ...reply, value: { ...rest, categories } };
    }
  }

  private async layoutOf(ek: string, version: number): Promise<SeatLayoutCache> {
    const known = this.layouts.get(ek);
    if (known && known.layout === version) return known;
    const { value } = await this.call('seatLayout', [ek], VALUES.seatLayout);
    const layout: SeatLayoutCache = {
      layout: value.layout,
      categories: value.categories.map((category) => ({
        categoryId: category.categoryId,
        rows: category.rows.map((row) => ({ row: row.row, seats: row.seats.split(' ') })),
      })),
    };
    this.layouts.delete(ek);
    this.layouts.set(ek, layout);
    // A few events' layouts at most are read at a time: keep the latest 100.
    if (this.layouts.size > 100) this.layouts.delete(this.layouts.keys().next().value as string);
    return layout;
  }

  async unlock(request: UnlockRequest): Promise<StoreReply<UnlockResult>> {
    const { target } = request;
    if (request.seatIds !== undefined) {
      if (request.quantity !== undefined) throw new LockError('VALIDATION_FAILED', 'a seat lock is unlocked by seatIds, not quantity');
      const seatIds = requireSeatIds(request.seatIds, this.maxSeats);
      // By id, an eventId/categoryId sent along ('' = not sent) must be the lock's: checked in the script.
      const selector =
        'lockId' in target
          ? ['id', target.lockId, optionalKey(target.eventId), optionalKey(target.categoryId)]
          : ['cat', lookupKey(target.eventId), lookupKey(target.categoryId), ''];
      const args = [requireText(request.userId), ...selector, String(seatIds.length), ...seatIds];
      return this.call('unlockSeats', args, VALUES.unlocked);
    }
    const quantity = request.quantity === undefined ? '' : String(request.quantity);
    // By id, an eventId/categoryId sent along ('' = not sent) must be the lock's: checked in the script.
    const args =
      'lockId' in target
        ? ['id', target.lockId, optionalKey(target.eventId), quantity, optionalKey(target.categoryId)]
        : ['cat', lookupKey(target.eventId), lookupKey(target.categoryId), quantity];
    return this.call('unlock', [requireText(request.userId), ...args], VALUES.unlocked);
  }

  async extend(lockId: string, userId: string): Promise<StoreReply<LockRecord>> {
    return this.call('extend', [lockId, userId], VALUES.lockRecord);
  }

  async confirm(lockId: string, orderId?: string): Promise<StoreReply<LockRecord>> {
    return this.call('confirm', [lockId, orderId ?? '', orderId === undefined ? '0' : '1'], VALUES.lockRecord);
  }

  async release(lockId: string, reason = 'released', userId?: string): Promise<StoreReply<LockRecord>> {
    const args = [lockId, reason, userId === undefined ? '0' : '1', userId ?? ''];
    return this.call('release', args, VALUES.lockRecord);
  }

  async releaseSession(sessionId: string, reason: string): Promise<StoreReply<LockRecord[]>> {
    return this.call('releaseSession', [sessionId, reason], VALUES.lockRecords);
  }

  async get(lockId: string): Promise<StoreReply<LockRecord | null>> {
    return this.call('get', [lockId], VALUES.lockRecordOrNull);
  }

  async activeLocks(userId: string): Promise<StoreReply<LockRecord[]>> {
    return this.call('activeLocks', [userId], VALUES.lockRecords);
  }

  async availability(eventId: CatalogId, categoryIds?: CatalogId[]): Promise<StoreReply<Availability[]>> {
    const cks = (categoryIds ?? []).map(lookupKey);
    return stamped(await this.call('availability', [lookupKey(eventId), String(cks.length), ...cks], VALUES.countsList));
  }

  async setCategoryTotal(eventId: CatalogId, categoryId: CatalogId, totalTickets: number): Promise<StoreReply<Availability>> {
    const args = [...catalogId(eventId), ...catalogId(categoryId), String(totalTickets)];
    const reply = await this.call('setCategoryTotal', args, VALUES.counts);
    return { ...reply, value: { ...reply.value, timestamp: new Date(reply.now).toISOString() } };
  }

  async followLedger(eventId: CatalogId, categoryId: CatalogId, reading: LedgerReading, settle?: LedgerSettlement): Promise<StoreReply<Availability>> {
    const args = [lookupKey(eventId), lookupKey(categoryId), String(reading.totalTickets), String(reading.soldTickets)];
    args.push(...(settle ? ['1', settle.orderKey, settle.userId, String(settle.quantity)] : ['0', '', '', '']));
    const reply = await this.call('followLedger', args, VALUES.counts);
    return { ...reply, value: { ...reply.value, timestamp: new Date(reply.now).toISOString() } };
  }

  async sweep(limit: number): Promise<StoreReply<SweepResult>> {
    return this.call('sweep', [String(limit)], VALUES.swept);
  }

  async stats(): Promise<StoreReply<LockStats>> {
    return this.call('stats', [], VALUES.stats);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.owned && this.redis.status !== 'end') await this.redis.quit().catch(() => undefined);
  }

  /**
   * One script call; parses and checks the JSON reply against `schema` (a malformed one throws
   * MalformedReplyError, an internal fault) and turns `error` into a thrown `LockError`.
   */
  private async call<V>(op: ScriptName, args: string[], schema: z.ZodType<V>): Promise<StoreReply<V>> {
    const fn = (this.redis as unknown as Record<string, ScriptFn>)[this.commands[op]];
    if (!fn) throw new Error(`Redis script ${op} is not defined`);
    const clock = this.clock === undefined ? '' : String(this.clock());
    const text = await fn.call(this.redis, this.base, ...this.header, clock, ...args);
    if (typeof text !== 'string') throw new MalformedReplyError(`Redis script ${op} answered ${typeof text}`);
    const raw = parseReply(rawReply, parseJson(text, op), `Redis script ${op}`);
    const changes = changesOf(raw);
    if (raw.error !== undefined) {
      const code = isErrorCode(raw.error) ? raw.error : 'INTERNAL_ERROR';
      const recorded = changes.transitions.length + changes.availability.length + (changes.seats?.length ?? 0) > 0;
      const message = typeof raw.message === 'string' ? raw.message : defaultMessage(code);
      throw new LockError(code, message, raw.status, recorded ? changes : undefined, typeof raw.orderId === 'string' ? raw.orderId : undefined, raw.seatIds);
    }
    return { ...changes, value: parseReply(schema, raw.value ?? null, `Redis script ${op}`) };
  }
}

/** The key form and the catalog's form (`n` number / `s` string) of an id being defined. */
function catalogId(id: CatalogId): [string, IdType] {
  requireId(id);
  return [idKey(id), typeof id === 'number' ? 'n' : 's'];
}

/** An id only looked up: anything that is not a valid id simply names nothing. */
function lookupKey(id: CatalogId): string {
  if (typeof id !== 'number' && typeof id !== 'string') throw new LockError('VALIDATION_FAILED');
  return idKey(id);
}

function optionalKey(id: CatalogId | undefined): string {
  return id === undefined ? '' : lookupKey(id);
}

function parseJson(text: string, op: ScriptName): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedReplyError(`Redis script ${op} answered text that is not JSON`);
  }
}

function optional(name: string | undefined): [string, string] {
  return name === undefined ? ['0', ''] : ['1', name];
}

/** A reply whose value is counts as the scripts print them, stamped with the reply's instant. */
function stamped(reply: StoreReply<Omit<Availability, 'timestamp'>[]>): StoreReply<Availability[]> {
  return { ...reply, value: stampAvailability(reply.value, reply.now) };
}

/** The changes a script printed, its counts stamped with its instant. */
export function changesOf(raw: RawChanges): LockChanges {
  const changes: LockChanges = { now: raw.now, transitions: raw.transitions, availability: stampAvailability(raw.availability, raw.now) };
  if (raw.seats !== undefined && raw.seats.length > 0) changes.seats = raw.seats;
  return changes;
}

/** Counts as the scripts print them get the reply's instant as their ISO `timestamp`. */
export function stampAvailability(list: Omit<Availability, 'timestamp'>[], now: number): Availability[] {
  const timestamp = new Date(now).toISOString();
  return list.map((item) => ({ ...item, timestamp }));
}
