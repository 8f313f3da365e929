import type { Redis } from 'ioredis';
import type { LifecycleEvent, LockRecord } from '#lock-domain';
import { KEY, keyBase, outboxKey } from './redis-keys.js';

/** One lifecycle event waiting in the outbox stream. */
export interface OutboxEntry {
  /** The stream entry id: unique and ordered, used as the AMQP `messageId` consumers dedupe on. */
  id: string;
  event: LifecycleEvent;
  lock: LockRecord;
}

// Compare-and-extend / compare-and-delete: only the holder may renew or drop the relay lease.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`;
const DROP = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * The reading side of the transactional outbox the lock scripts append to (`outbox: true`).
 * Entries are removed only after the broker confirmed them ({@link remove}); one relay at a time
 * holds the lease, so the events of one lock are published in stream order.
 */
export class RedisOutbox {
  private readonly stream: string;
  private readonly lease: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix = 'tl',
  ) {
    this.stream = outboxKey(keyPrefix);
    this.lease = `${keyBase(keyPrefix)}:${KEY.outboxLease}`;
  }

  /** The oldest `count` entries, in order. */
  async read(count: number): Promise<OutboxEntry[]> {
    const rows = await this.redis.xrange(this.stream, '-', '+', 'COUNT', count);
    return rows.map(([id, fields]) => {
      const map = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
      const pattern = map.get('pattern') ?? '';
      return { id, event: pattern.replace(/^ticket-lock\./, '') as LifecycleEvent, lock: JSON.parse(map.get('lock') ?? 'null') as LockRecord };
    });
  }

  /** Drops entries the broker has confirmed. */
  async remove(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.xdel(this.stream, ...ids);
  }

  async length(): Promise<number> {
    return this.redis.xlen(this.stream);
  }

  /** Takes or renews the relay lease for `ttlMs`; true while `owner` holds it. */
  async holdLease(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.lease, owner, String(ttlMs))) === 1;
  }

  async dropLease(owner: string): Promise<void> {
    await this.redis.eval(DROP, 1, this.lease, owner);
  }
}
