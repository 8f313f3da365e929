import type { Redis } from 'ioredis';
import type { LifecycleEvent, LockRecord } from '#lock-domain';
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

const SINK_NAME = /^[a-z0-9-]{1,32}$/;

/**
 * The reading side of the transactional outbox the lock scripts append to (`outbox: true`), for
 * every lifecycle sink (RabbitMQ, MQTT, …): each sink has its own cursor, moved only after its
 * transport took the entries ({@link ack}), and one instance at a time relays to a sink (a lease per
 * sink), so each sink gets every entry at least once, in stream order. An entry is trimmed once every
 * sink has it. Every instance must declare the same sinks.
 */
export class RedisOutbox {
  private readonly stream: string;
  private readonly cursors: string;
  private readonly base: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix = 'tl',
    /** Every sink the deployment relays to: what trimming waits for. */
    private readonly sinks: readonly string[] = ['rabbitmq'],
  ) {
    for (const sink of sinks) if (!SINK_NAME.test(sink)) throw new Error(`Invalid sink name: ${JSON.stringify(sink)}`);
    this.stream = outboxKey(keyPrefix);
    this.base = keyBase(keyPrefix);
    this.cursors = `${this.base}:${KEY.outboxCursors}`;
  }

  /** The sink's next `count` entries after its cursor, in order. */
  async read(sink: string, count: number): Promise<OutboxBatch> {
    const cursor = await this.redis.hget(this.cursors, sink);
    const rows = await this.redis.xrange(this.stream, cursor ? `(${cursor}` : '-', '+', 'COUNT', count);
    const batch: OutboxBatch = { entries: [], unreadable: [] };
    for (const [id, fields] of rows) {
      batch.last = id;
      const entry = parseEntry(id, fields);
      if (entry) batch.entries.push(entry);
      else batch.unreadable.push(id);
    }
    return batch;
  }

  /** The sink has every entry up to `id`; false when `owner` no longer holds the sink's lease (nothing moved). */
  async ack(sink: string, owner: string, id: string): Promise<boolean> {
    return (await this.redis.eval(ACK, 3, this.stream, this.cursors, this.lease(sink), sink, id, owner, ...this.sinks)) === 1;
  }

  /** Entries not yet trimmed (some sink does not have them). */
  async length(): Promise<number> {
    return this.redis.xlen(this.stream);
  }

  /** Takes or renews the sink's relay lease for `ttlMs`; true while `owner` holds it. */
  async holdLease(sink: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.lease(sink), owner, String(ttlMs))) === 1;
  }

  async dropLease(sink: string, owner: string): Promise<void> {
    await this.redis.eval(DROP, 1, this.lease(sink), owner);
  }

  private lease(sink: string): string {
    return `${this.base}:${KEY.outboxLease}:${sink}`;
  }
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
