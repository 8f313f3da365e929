import type { Redis } from 'ioredis';
import type { LifecycleEvent, LockRecord, LockTransition } from '#lock-domain';
import { KEY, keyBase, outboxKey } from './redis-keys.js';
import { lifecycleEvent, lockRecord } from './replies.js';

/** One lifecycle event waiting in the outbox: what happened to which lock, not how any transport says it. */
export interface OutboxEntry {
  /** The stream entry id: unique and ordered (its first part is the Redis time of the transition). */
  id: string;
  event: LifecycleEvent;
  lock: LockRecord;
}

/** What one sink reads: its next entries, and the id to acknowledge up to (also past unreadable rows). */
export interface OutboxBatch {
  entries: OutboxEntry[];
  /** The last row read, readable or not; undefined when nothing was waiting. */
  last?: string;
  /** Rows that were not a lifecycle event (skipped, so one bad row never stalls every sink). */
  unreadable: string[];
}

// Compare-and-extend / compare-and-delete: only the holder may renew or drop a relay lease.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`;
const DROP = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/**
 * KEYS: stream, cursors, the sink's lease; ARGV: sink, id, owner, then every sink's name. Moves the
 * sink's cursor (only for the lease holder), then trims what every sink has; a sink without a
 * cursor yet keeps everything.
 */
const ACK = `if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local minMs, minSeq
for i = 4, #ARGV do
  local c = redis.call('HGET', KEYS[2], ARGV[i])
  if not c then return 1 end
  local ms, seq = string.match(c, '^(%d+)-(%d+)$')
  ms, seq = tonumber(ms), tonumber(seq)
  if not minMs or ms < minMs or (ms == minMs and seq < minSeq) then minMs, minSeq = ms, seq end
end
if minMs then redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-%d', minMs, minSeq + 1)) end
return 1`;

/**
 * KEYS: stream, cursors; ARGV: sink, count, origin (''= none). The rows after the sink's cursor,
 * flat: per row its id, then 0 when it is the caller's own (its `origin` field is ARGV[3]: the
 * caller has its body from the reply that appended it), else the number of fields and the fields.
 */
const READ = `local cursor = redis.call('HGET', KEYS[2], ARGV[1])
local out = {}
for _, r in ipairs(redis.call('XRANGE', KEYS[1], cursor and ('(' .. cursor) or '-', '+', 'COUNT', ARGV[2])) do
  local f = r[2]
  local own = false
  if ARGV[3] ~= '' then
    for k = 1, #f - 1, 2 do
      if f[k] == 'origin' and f[k + 1] == ARGV[3] then own = true end
    end
  end
  out[#out + 1] = r[1]
  if own then
    out[#out + 1] = 0
  else
    out[#out + 1] = #f
    for k = 1, #f do out[#out + 1] = f[k] end
  end
end
return out`;

const SINK_NAME = /^[a-z0-9-]{1,32}$/;
/** At most this many bodies of our own entries are kept for the relay (a miss is read from the stream). */
const MAX_REMEMBERED = 10_000;

type ScriptFn = (...args: string[]) => Promise<unknown>;
/** The scripts above as commands of the connection (EVALSHA after the first call), by name. */
const COMMANDS = {
  tlOutboxRead: { lua: READ, numberOfKeys: 2 },
  tlOutboxAck: { lua: ACK, numberOfKeys: 3 },
  tlOutboxRenew: { lua: RENEW, numberOfKeys: 1 },
  tlOutboxDrop: { lua: DROP, numberOfKeys: 1 },
} as const;

/**
 * The reading side of the transactional outbox the lock scripts append to (`outbox: true`), for
 * every lifecycle sink (RabbitMQ, MQTT, …): each sink has its own cursor, moved only after its
 * transport took the entries ({@link ack}), and one instance at a time relays to a sink (a lease per
 * sink), so each sink gets every entry at least once, in stream order. An entry is trimmed once every
 * sink has it. Every instance must declare the same sinks.
 *
 * With the instance's `origin` (the one its lock store stamps on its entries), the entries this
 * instance appended are not read back: their bodies come from the replies that appended them
 * ({@link remember}), and the stream gives only their ids and order. Others' entries, and ours
 * that were not remembered, are read whole.
 */
export class RedisOutbox {
  private readonly stream: string;
  private readonly cursors: string;
  private readonly base: string;
  /** Our own entries' bodies by entry id, in the order they were remembered. */
  private readonly mine = new Map<string, OutboxEntry>();
  /** Per sink, the last entry acknowledged through this instance. */
  private readonly acked = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    keyPrefix = 'tl',
    /** Every sink the deployment relays to: what trimming waits for. */
    private readonly sinks: readonly string[] = ['rabbitmq'],
    /** This instance's origin, as given to its `RedisLockStore`; none: every entry is read whole. */
    private readonly origin = '',
  ) {
    for (const sink of sinks) if (!SINK_NAME.test(sink)) throw new Error(`Invalid sink name: ${JSON.stringify(sink)}`);
    this.stream = outboxKey(keyPrefix);
    this.base = keyBase(keyPrefix);
    this.cursors = `${this.base}:${KEY.outboxCursors}`;
    for (const [name, definition] of Object.entries(COMMANDS)) if (!(name in redis)) redis.defineCommand(name, definition);
  }

  private run(name: keyof typeof COMMANDS, ...args: string[]): Promise<unknown> {
    return ((this.redis as unknown as Record<string, ScriptFn>)[name] as ScriptFn).call(this.redis, ...args);
  }

  /**
   * Keeps the bodies of entries this instance appended (transitions from its own store replies, which
   * carry their `outboxId`), so reading them costs the relay their ids only. Worth it only where this
   * instance relays a sink; a miss is simply read from the stream.
   */
  remember(transitions: readonly LockTransition[]): void {
    for (const { event, lock, outboxId } of transitions) if (outboxId !== undefined) this.mine.set(outboxId, { id: outboxId, event, lock });
    for (const id of this.mine.keys()) {
      if (this.mine.size <= MAX_REMEMBERED) break;
      this.mine.delete(id);
    }
  }

  /** How many of our own entries' bodies are kept now. */
  get remembered(): number {
    return this.mine.size;
  }

  /** The sink's next `count` entries after its cursor, in order. */
  async read(sink: string, count: number): Promise<OutboxBatch> {
    const flat = (await this.run('tlOutboxRead', this.stream, this.cursors, sink, String(count), this.origin)) as Array<string | number>;
    const batch: OutboxBatch = { entries: [], unreadable: [] };
    // An entry, or the id of one of ours that was not remembered (read whole below, in its place).
    const slots: Array<OutboxEntry | string> = [];
    for (let i = 0; i < flat.length; ) {
      const id = String(flat[i]);
      const n = Number(flat[i + 1]);
      const fields = n === 0 ? [] : flat.slice(i + 2, i + 2 + n).map(String);
      i += 2 + n;
      batch.last = id;
      const entry = n === 0 ? (this.mine.get(id) ?? id) : parseEntry(id, fields);
      if (entry) slots.push(entry);
      else batch.unreadable.push(id);
    }
    // A reply read in the same turn as this one may not have been handed over yet: one turn later
    // it usually has, and only what is still missing is read.
    if (slots.some((slot) => typeof slot === 'string')) await new Promise((resolve) => setImmediate(resolve));
    for (const slot of slots) {
      if (typeof slot !== 'string') {
        batch.entries.push(slot);
        continue;
      }
      const known = this.mine.get(slot);
      const [row] = known ? [] : await this.redis.xrange(this.stream, slot, slot);
      const entry = known ?? (row ? parseEntry(slot, row[1]) : undefined);
      if (entry) batch.entries.push(entry);
      else batch.unreadable.push(slot);
    }
    return batch;
  }

  /** The sink has every entry up to `id`; false when `owner` no longer holds the sink's lease (nothing moved). */
  async ack(sink: string, owner: string, id: string): Promise<boolean> {
    const moved = (await this.run('tlOutboxAck', this.stream, this.cursors, this.lease(sink), sink, id, owner, ...this.sinks)) === 1;
    if (moved) this.forgetAcked(sink, id);
    return moved;
  }

  /** Bodies every sink has taken through this instance are not needed any more. */
  private forgetAcked(sink: string, id: string): void {
    this.acked.set(sink, id);
    let upTo: string | undefined;
    for (const name of this.sinks) {
      const acked = this.acked.get(name);
      if (acked === undefined) return;
      if (upTo === undefined || compareIds(acked, upTo) < 0) upTo = acked;
    }
    if (upTo === undefined) return;
    for (const known of this.mine.keys()) {
      if (compareIds(known, upTo) > 0) break;
      this.mine.delete(known);
    }
  }

  /** Entries not yet trimmed (some sink does not have them). */
  async length(): Promise<number> {
    return this.redis.xlen(this.stream);
  }

  /** Takes or renews the sink's relay lease for `ttlMs`; true while `owner` holds it. */
  async holdLease(sink: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.run('tlOutboxRenew', this.lease(sink), owner, String(ttlMs))) === 1;
  }

  async dropLease(sink: string, owner: string): Promise<void> {
    await this.run('tlOutboxDrop', this.lease(sink), owner);
  }

  private lease(sink: string): string {
    return `${this.base}:${KEY.outboxLease}:${sink}`;
  }
}

/** Stream ids (`<ms>-<seq>`) in stream order. */
function compareIds(a: string, b: string): number {
  const ai = a.indexOf('-');
  const bi = b.indexOf('-');
  return Number(a.slice(0, ai)) - Number(b.slice(0, bi)) || Number(a.slice(ai + 1)) - Number(b.slice(bi + 1));
}

/** A stream row as a lifecycle entry, or undefined when it is not one. */
function parseEntry(id: string, fields: string[]): OutboxEntry | undefined {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
  // Rows written before the outbox recorded events carry the AMQP routing key instead.
  const event = lifecycleEvent.safeParse(map.get('event') ?? map.get('pattern')?.replace(/^ticket-lock\./, ''));
  let lock: unknown;
  try {
    lock = JSON.parse(map.get('lock') ?? '');
  } catch {
    return undefined;
  }
  const record = lockRecord.safeParse(lock);
  return event.success && record.success ? { id, event: event.data, lock: record.data } : undefined;
}
