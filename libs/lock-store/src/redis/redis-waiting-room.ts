import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  LockError,
  defaultMessage,
  idKey,
  isErrorCode,
  requireId,
  requireText,
  requireWaitingRoomSettings,
  type Admission,
  type AdmitResult,
  type CatalogId,
  type QueueJoin,
  type QueueSnapshot,
  type RoomReply,
  type WaitingRoomSettings,
  type WaitingRoomStore,
} from '#lock-domain';
import { MAX_SKIPS_PER_TICK, randomPlaceKey } from '../waiting-room-rules.js';
import { ROOM_SCRIPTS, type RoomScriptName } from './lua/waiting-room.js';
import { isValidPrefix, keyBase } from './redis-keys.js';

export interface RedisWaitingRoomOptions {
  /** An ioredis connection (stays the caller's) or a URL (closed by `close()`). */
  redis: Redis | string;
  /** Must be the lock store's prefix: the lock script reads admissions under the same hash tag. */
  keyPrefix?: string;
  /**
   * Early joiners moved into the queue per call after `salesStartAt` (default 2000): their places are
   * drawn at once, but 100,000 of them are moved over several calls so none blocks Redis for long.
   */
  placementChunk?: number;
}

type ScriptFn = (...args: string[]) => Promise<unknown>;

/**
 * The waiting rooms on Redis: every method is one Lua script (lua/waiting-room.ts), atomic, timed
 * by Redis `TIME`, under the lock store's hash tag so the lock script reads admissions in its own
 * atomic step. Semantics: the shared contract suite (waiting-room.contract.ts).
 */
export class RedisWaitingRoom implements WaitingRoomStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly base: string;
  private readonly commands: Record<RoomScriptName, string>;
  private readonly chunk: string;

  constructor(options: RedisWaitingRoomOptions) {
    this.chunk = String(Math.max(1, Math.floor(options.placementChunk ?? 2000)));
    const prefix = options.keyPrefix ?? 'tl';
    if (!isValidPrefix(prefix)) throw new Error(`Invalid Redis key prefix: ${JSON.stringify(prefix)}`);
    this.owned = typeof options.redis === 'string';
    this.redis = typeof options.redis === 'string' ? new Redis(options.redis) : options.redis;
    this.base = keyBase(prefix);
    const commands = {} as Record<RoomScriptName, string>;
    for (const [op, lua] of Object.entries(ROOM_SCRIPTS) as [RoomScriptName, string][]) {
      const name = `waitingRoom_${op}_${createHash('sha1').update(lua).digest('hex').slice(0, 8)}`;
      this.redis.defineCommand(name, { lua, numberOfKeys: 1 });
      commands[op] = name;
    }
    this.commands = commands;
  }

  async configure(eventId: CatalogId, settings: WaitingRoomSettings | null): Promise<RoomReply<QueueSnapshot>> {
    requireId(eventId);
    const ek = idKey(eventId);
    const idt = typeof eventId === 'number' ? 'n' : 's';
    if (settings === null) return this.call('configure', [ek, idt, 'off', '', '', '', '']);
    const { admitPerMinute, maxActiveUsers, admissionMs, salesStartAt } = requireWaitingRoomSettings(settings);
    const args = [ek, idt, 'on', String(admitPerMinute), String(maxActiveUsers), String(admissionMs), salesStartAt === undefined ? '' : String(salesStartAt)];
    return this.call('configure', args);
  }

  async join(eventId: CatalogId, userId: string): Promise<RoomReply<QueueJoin>> {
    return this.call('join', [lookupKey(eventId), requireText(userId), String(randomPlaceKey()), this.chunk]);
  }

  async leave(eventId: CatalogId, userId: string): Promise<RoomReply<{ left: boolean; snapshot: QueueSnapshot }>> {
    return this.call('leave', [lookupKey(eventId), requireText(userId)]);
  }

  async admission(eventId: CatalogId, userId: string): Promise<RoomReply<Admission | null>> {
    return this.call('admission', [lookupKey(eventId), requireText(userId)]);
  }

  async seen(eventId: CatalogId, userIds: string[]): Promise<void> {
    // Bounded batches: one call stays short however many users an instance holds.
    for (let i = 0; i < userIds.length; i += 5000) {
      await this.call('seen', [lookupKey(eventId), ...userIds.slice(i, i + 5000)]);
    }
  }

  async admit(eventId: CatalogId, options: { abandonMs: number }): Promise<RoomReply<AdmitResult>> {
    return this.call('admit', [lookupKey(eventId), String(Math.max(0, Math.round(options.abandonMs))), String(MAX_SKIPS_PER_TICK), this.chunk]);
  }

  async snapshots(): Promise<RoomReply<QueueSnapshot[]>> {
    return this.call('snapshots', []);
  }

  async lease(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.call<boolean>('lease', [requireText(owner), String(Math.max(1, Math.round(ttlMs)))])).value;
  }

  async releaseLease(owner: string): Promise<void> {
    await this.call('releaseLease', [owner]);
  }

  async close(): Promise<void> {
    if (this.owned && this.redis.status !== 'end') await this.redis.quit().catch(() => undefined);
  }

  private async call<T>(op: RoomScriptName, args: string[]): Promise<RoomReply<T>> {
    const fn = (this.redis as unknown as Record<string, ScriptFn>)[this.commands[op]];
    if (!fn) throw new Error(`Redis script ${op} is not defined`);
    const text = await fn.call(this.redis, this.base, ...args);
    if (typeof text !== 'string') throw new Error(`Redis script ${op} answered ${typeof text}`);
    const raw = JSON.parse(text) as { now: number; value?: T; error?: string };
    if (raw.error !== undefined) {
      const code = isErrorCode(raw.error) ? raw.error : 'INTERNAL_ERROR';
      throw new LockError(code, defaultMessage(code));
    }
    return { now: raw.now, value: raw.value as T };
  }
}

function lookupKey(id: CatalogId): string {
  if (typeof id !== 'number' && typeof id !== 'string') throw new LockError('VALIDATION_FAILED');
  return idKey(id);
}
