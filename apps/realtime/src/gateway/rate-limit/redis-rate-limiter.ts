import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RateLimiter } from './rate-limiter.js';
import { weightedCount } from './sliding-window.js';
import { withTimeout } from '../../common/with-timeout.js';
import { errorMessage } from '../../common/error-message.js';

/** Options of the {@link RedisRateLimiter}. */
export interface RedisRateLimiterOptions {
  /** The shared connection (also the lock store's): the limiter only adds a script to it. */
  redis: Redis;
  /** `REDIS_KEY_PREFIX`: keys are `{<prefix>}:rl:<window>:<userId>`. */
  keyPrefix: string;
  /** Requests a user may make per window (`RATE_LIMIT_PER_MINUTE`); must be above 0. */
  limit: number;
  /** Window length; one minute by default. */
  windowMs?: number;
  /** Period of the background exchange with Redis; 250 ms by default. */
  syncIntervalMs?: number;
  /** How long after a user's last request or connection here their cluster totals keep being read back; 5 s by default. */
  refreshForMs?: number;
  /** Clock (epoch ms); `Date.now` by default. All instances must agree on it (NTP), as windows are clock-aligned. */
  now?: () => number;
  /** How long `close()` waits for the last exchange; 1 s by default. */
  closeTimeoutMs?: number;
}

/** One user's count of one window, as this instance knows it. */
interface Slot {
  window: number;
  /** Cluster-wide count of the window at the last exchange (this instance's sent requests included). */
  total: number;
  /** Requests counted here and not sent yet. */
  pending: number;
  /** Requests in the exchange under way. */
  sending: number;
  /** For a past window: its total can no longer change (every instance has flushed it), so it is not read again. */
  settled: boolean;
}

interface UserCounts {
  current: Slot;
  previous: Slot | undefined;
  /** Last request of the user on this instance. */
  seenAt: number;
}

/** A slot in an exchange: `sent` requests added to its key (0: only read back). */
interface Exchange {
  slot: Slot;
  key: string;
  sent: number;
  /** Past-window slots read after this time are final. */
  settlesAt: number;
}

// KEYS: the keys to add to (one per ARGV delta), then the keys only read. ARGV[1]: TTL in ms.
// One call per batch, whatever the number of users: INCRBY per counted key (PEXPIRE only when it
// creates the key), one MGET for all the others.
const SYNC_LUA = `
local ttl = tonumber(ARGV[1])
local adds = #ARGV - 1
local out = {}
for i = 1, adds do
  local delta = tonumber(ARGV[i + 1])
  local total = redis.call('INCRBY', KEYS[i], delta)
  if total == delta then redis.call('PEXPIRE', KEYS[i], ttl) end
  out[i] = total
end
if #KEYS > adds then
  local read = redis.call('MGET', unpack(KEYS, adds + 1))
  for j = 1, #read do out[adds + j] = tonumber(read[j]) or 0 end
end
return out
`;

/** Keys per script call: bounds the time Redis spends in one call and Lua's unpack() stack. */
const MAX_KEYS_PER_CALL = 1000;

type SyncScript = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

/**
 * {@link RateLimiter} shared by every instance through Redis, without touching Redis on the request path.
 *
 * `consume` decides locally with the same sliding window as the in-process limiter, counting for each
 * of the two windows: the cluster-wide total as of the last exchange with Redis, plus what this
 * instance counted since. Every `syncIntervalMs` one script call per batch adds each user's local
 * counts to `{<prefix>}:rl:<window>:<userId>` (expiring after two windows) and reads back the totals
 * of the users seen here lately (a request or a connection within `refreshForMs`).
 *
 * **Bound.** Per user and window, the cluster admits at most `limit` plus the requests the *other*
 * instances admitted that had not yet been exchanged when the deciding instance last synced: at most
 * what they admit in one sync interval (plus the exchange's round trip). With N instances that each
 * admit at most k of the user's requests between two of their exchanges, that is `limit + (N-1)·k`.
 *
 * **Redis down.** A failed exchange keeps its counts for the next one, so decisions go on from the
 * local counts (at most `limit` per instance) and nothing throws; the outage is logged once.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly logger = new Logger('RateLimiter');
  private readonly users = new Map<string, UserCounts>();
  private readonly windowMs: number;
  private readonly refreshForMs: number;
  private readonly settleMs: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly base: string;
  private readonly script: SyncScript;
  private readonly timer: NodeJS.Timeout;
  /** Exchanges run one after the other; a timer tick is skipped while one is queued or running. */
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private failing = false;
  private closed = false;

  constructor(private readonly options: RedisRateLimiterOptions) {
    if (!(options.limit > 0)) throw new RangeError('rate limit must be above 0');
    this.windowMs = options.windowMs ?? 60_000;
    const syncIntervalMs = options.syncIntervalMs ?? 250;
    this.refreshForMs = options.refreshForMs ?? 5_000;
    // Other instances flush a past window's counts within one interval of its end (or retry later).
    this.settleMs = Math.max(1_000, 4 * syncIntervalMs);
    // A key is read until its window is the previous one and settled.
    this.ttlMs = 2 * this.windowMs + this.settleMs;
    this.now = options.now ?? Date.now;
    this.base = `{${options.keyPrefix}}:rl`;
    // The name carries the script's hash, as the lock store's do: versions may share a connection.
    const name = `rateLimitSync_${createHash('sha1').update(SYNC_LUA).digest('hex').slice(0, 8)}`;
    options.redis.defineCommand(name, { lua: SYNC_LUA });
    this.script = ((options.redis as unknown as Record<string, SyncScript>)[name] as SyncScript).bind(options.redis);
    this.timer = setInterval(() => {
      if (this.queued === 0) void this.sync();
    }, syncIntervalMs);
    this.timer.unref();
  }

  consume(userId: string): boolean {
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    let user = this.users.get(userId);
    if (!user) {
      user = { current: newSlot(window), previous: undefined, seenAt: now };
      this.users.set(userId, user);
    } else {
      roll(user, window);
      user.seenAt = now;
    }
    const previous = user.previous ? view(user.previous) : 0;
    if (weightedCount(previous, view(user.current), window, now, this.windowMs) >= this.options.limit) return false;
    user.current.pending += 1;
    return true;
  }

  track(userId: string): void {
    const now = this.now();
    const user = this.users.get(userId);
    if (user) user.seenAt = now;
    else this.users.set(userId, { current: newSlot(Math.floor(now / this.windowMs)), previous: undefined, seenAt: now });
  }

  /**
   * One exchange with Redis (the timer calls it; tests and `close` may too). Resolves when done,
   * after any exchange already under way; never rejects.
   */
  sync(): Promise<void> {
    this.queued += 1;
    const run = this.tail.then(() => this.exchange()).finally(() => {
      this.queued -= 1;
    });
    this.tail = run;
    return run;
  }

  /** Users currently tracked (for tests and metrics). */
  get size(): number {
    return this.users.size;
  }

  /** Stops the timer and hands the last counts to Redis (bounded wait). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await withTimeout(this.sync(), this.options.closeTimeoutMs ?? 1_000, undefined);
  }

  private async exchange(): Promise<void> {
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    const adds: Exchange[] = [];
    const reads: Exchange[] = [];
    for (const [userId, user] of this.users) {
      const unsent = user.current.pending + (user.previous?.pending ?? 0);
      if (unsent === 0 && now - user.seenAt > this.refreshForMs) {
        // Nothing to send or read; forgotten once neither window can matter any more.
        if (user.current.window < window - 1) this.users.delete(userId);
        continue;
      }
      roll(user, window);
      user.previous ??= newSlot(window - 1);
      for (const slot of [user.current, user.previous]) {
        const entry = { slot, key: `${this.base}:${slot.window}:${userId}`, sent: slot.pending, settlesAt: (slot.window + 1) * this.windowMs + this.settleMs };
        if (slot.pending > 0) {
          slot.sending += slot.pending;
          slot.pending = 0;
          adds.push(entry);
        } else if (!slot.settled) {
          reads.push(entry);
        }
      }
    }
    if (adds.length === 0 && reads.length === 0) return;
    const results = await Promise.all(chunk(adds, reads).map((batch) => this.send(batch, now)));
    const failure = results.find((error) => error !== undefined);
    if (failure !== undefined && !this.failing) {
      this.failing = true;
      this.logger.warn(`rate-limit sync with Redis failed, counting locally until it answers: ${failure}`);
    } else if (failure === undefined && this.failing) {
      this.failing = false;
      this.logger.log('rate-limit sync with Redis restored');
    }
  }

  /** One script call; answers the error text, if any. */
  private async send(batch: { adds: Exchange[]; reads: Exchange[] }, now: number): Promise<string | undefined> {
    const keys = [...batch.adds, ...batch.reads].map((entry) => entry.key);
    try {
      const totals = await this.script(keys.length, ...keys, this.ttlMs, ...batch.adds.map((entry) => entry.sent));
      batch.adds.forEach((entry, i) => {
        entry.slot.sending -= entry.sent;
        entry.slot.total = totals[i] ?? entry.slot.total;
      });
      batch.reads.forEach((entry, j) => {
        entry.slot.total = totals[batch.adds.length + j] ?? entry.slot.total;
        if (now >= entry.settlesAt) entry.slot.settled = true;
      });
      return undefined;
    } catch (error) {
      // Counted again next time: a lost reply may count twice, which errs on the side of the limit.
      for (const entry of batch.adds) {
        entry.slot.sending -= entry.sent;
        entry.slot.pending += entry.sent;
      }
      return errorMessage(error);
    }
  }
}

function newSlot(window: number): Slot {
  return { window, total: 0, pending: 0, sending: 0, settled: false };
}

/** What this instance knows of a window's cluster-wide count. */
function view(slot: Slot): number {
  return slot.total + slot.pending + slot.sending;
}

/** Moves `user` to `window`; counts of windows before the previous one are dropped (they no longer matter). */
function roll(user: UserCounts, window: number): void {
  if (user.current.window === window) return;
  user.previous = user.current.window === window - 1 ? user.current : undefined;
  user.current = newSlot(window);
}

/** Splits an exchange into script calls of at most {@link MAX_KEYS_PER_CALL} keys (adds first in each). */
function chunk(adds: Exchange[], reads: Exchange[]): Array<{ adds: Exchange[]; reads: Exchange[] }> {
  const all = [...adds, ...reads];
  const batches: Array<{ adds: Exchange[]; reads: Exchange[] }> = [];
  for (let start = 0; start < all.length; start += MAX_KEYS_PER_CALL) {
    const end = Math.min(start + MAX_KEYS_PER_CALL, all.length);
    const split = Math.min(Math.max(adds.length, start), end);
    batches.push({ adds: all.slice(start, split), reads: all.slice(split, end) });
  }
  return batches;
}
