import { Redis, type RedisOptions } from 'ioredis';
import type { LockChangeFeed, LockChangeListener } from '#lock-domain';
import { watchOutages } from './outages.js';
import { changesChannel, isValidOrigin } from './redis-keys.js';
import { changesOf, type RawChanges } from './redis-lock-store.js';
import { parseReply, rawChanges } from './replies.js';

export interface RedisLockChangeFeedOptions {
  /**
   * A connection to duplicate (a subscribed connection serves nothing else, so the feed always has
   * its own), or a Redis URL. The feed's connection is closed by the function `subscribe` returns.
   */
  redis: Redis | string;
  /** The stores' key prefix. Default `tl`. */
  keyPrefix?: string;
  /** This instance's origin, as given to its `RedisLockStore`: its own announcements are skipped. */
  origin: string;
  /** The first connection error of each outage (ioredis keeps reconnecting by itself), and unreadable messages. */
  onError?: (error: Error) => void;
}

/**
 * The changes other instances' `RedisLockStore`s announce (their scripts PUBLISH on
 * `{prefix}:changes`): one SUBSCRIBE per instance instead of one PUBLISH per notification sent.
 * Redis pub/sub is at-most-once, so after a reconnect the listener's `gap()` says what may be missed.
 */
export class RedisLockChangeFeed implements LockChangeFeed {
  private readonly channel: string;
  private readonly own: string;

  constructor(private readonly options: RedisLockChangeFeedOptions) {
    if (!isValidOrigin(options.origin)) throw new Error(`Invalid origin: ${JSON.stringify(options.origin)}`);
    this.channel = changesChannel(options.keyPrefix ?? 'tl');
    this.own = `${options.origin} `;
  }

  async subscribe(listener: LockChangeListener): Promise<() => Promise<void>> {
    const { redis, onError } = this.options;
    const overrides: RedisOptions = { lazyConnect: false, enableOfflineQueue: true, connectionName: `lock-change-feed:${this.options.origin}` };
    const sub = typeof redis === 'string' ? new Redis(redis, overrides) : redis.duplicate(overrides);
    let subscribed = false;
    watchOutages(sub, { down: (error) => onError?.(error) });
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel || message.startsWith(this.own)) return;
      let raw: RawChanges;
      try {
        raw = parseReply(rawChanges, JSON.parse(message.slice(message.indexOf(' ') + 1)), 'A change announcement');
      } catch (error) {
        onError?.(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      listener.changes(changesOf(raw));
    });
    // ioredis resubscribes on 'ready' after a reconnect; the PING answers after that SUBSCRIBE took
    // effect, so whatever the listener reads on `gap()` is not older than the first message it gets.
    sub.on('ready', () => {
      if (!subscribed) return;
      sub.ping().then(
        () => listener.gap(),
        (error: unknown) => onError?.(error instanceof Error ? error : new Error(String(error))),
      );
    });
    await sub.subscribe(this.channel);
    subscribed = true;
    return async () => {
      subscribed = false;
      if (sub.status !== 'end') await sub.quit().catch(() => sub.disconnect());
    };
  }
}
