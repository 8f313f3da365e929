import { Redis, type RedisOptions } from 'ioredis';
import type { LockChangeFeed, LockChangeListener } from '#lock-domain';
import { watchOutages } from './outages.js';
import { changesChannel, feedsKey, isValidOrigin } from './redis-keys.js';
import { changesOf, type RawChanges } from './redis-lock-store.js';
import { parseReply, rawChanges } from './replies.js';

export interface RedisLockChangeFeedOptions {
  /**
   * A connection to duplicate (a subscribed connection serves nothing else, so the feed always has
   * its own) and to renew the feed's registration on, or a Redis URL. The connections the feed
   * opens are closed by the function `subscribe` returns.
   */
  redis: Redis | string;
  /** The stores' key prefix. Default `tl`. */
  keyPrefix?: string;
  /** This instance's origin, as given to its `RedisLockStore`: its own announcements are skipped. */
  origin: string;
  /**
   * How long the feed's registration lasts unless renewed (it is renewed every third of it). The
   * other instances announce their changes only while some registration but their own is live.
   * Default 15000.
   */
  registrationTtlMs?: number;
  /** The first connection error of each outage (ioredis keeps reconnecting by itself), and unreadable messages. */
  onError?: (error: Error) => void;
}

// Drops the lapsed registrations and (re)registers ARGV[1] until Redis time + ARGV[2] ms.
const REGISTER = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
return redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])`;

/**
 * The changes other instances' `RedisLockStore`s announce (their scripts PUBLISH on
 * `{prefix}:changes`): one SUBSCRIBE per instance instead of one PUBLISH per notification sent.
 * Once subscribed, the feed registers its origin in `{prefix}:feeds`: the scripts announce only
 * while another instance listens, so a lone instance neither publishes nor decodes its own echo.
 * Redis pub/sub is at-most-once, so after a reconnect (or a registration that may have lapsed) the
 * listener's `gap()` says what may be missed.
 */
export class RedisLockChangeFeed implements LockChangeFeed {
  private readonly channel: string;
  private readonly feeds: string;
  private readonly own: string;
  private readonly ttlMs: number;

  constructor(private readonly options: RedisLockChangeFeedOptions) {
    if (!isValidOrigin(options.origin)) throw new Error(`Invalid origin: ${JSON.stringify(options.origin)}`);
    const prefix = options.keyPrefix ?? 'tl';
    this.channel = changesChannel(prefix);
    this.feeds = feedsKey(prefix);
    this.own = `${options.origin} `;
    this.ttlMs = options.registrationTtlMs ?? 15_000;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 3) throw new Error(`Invalid registrationTtlMs: ${this.ttlMs}`);
  }

  async subscribe(listener: LockChangeListener): Promise<() => Promise<void>> {
    const { redis, onError, origin } = this.options;
    const report = (error: unknown): void => onError?.(error instanceof Error ? error : new Error(String(error)));
    const overrides: RedisOptions = { lazyConnect: false, enableOfflineQueue: true, connectionName: `lock-change-feed:${origin}` };
    const sub = typeof redis === 'string' ? new Redis(redis, overrides) : redis.duplicate(overrides);
    // Registration needs a connection that is not subscribed: the caller's, or one of our own.
    const cmd = typeof redis === 'string' ? new Redis(redis, { lazyConnect: false }) : redis;
    const register = async (): Promise<void> => {
      await cmd.eval(REGISTER, 1, this.feeds, origin, String(this.ttlMs));
    };
    let subscribed = false;
    // A failed renewal may let the registration lapse and the others stop announcing: the
    // registration that succeeds next reports the gap.
    let lapsed = false;
    /** Settles one (re)registration: a gap after a cut (`missed`) or a lapse, the error otherwise. */
    const registered = (registration: Promise<void>, missed: boolean): void => {
      registration.then(
        () => {
          if (!missed && !lapsed) return;
          lapsed = false;
          listener.gap();
        },
        (error: unknown) => {
          lapsed = true;
          report(error);
        },
      );
    };
    watchOutages(sub, { down: (error) => onError?.(error) });
    if (cmd !== redis) cmd.on('error', () => undefined); // its outages are the feed's too, reported once there
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel || message.startsWith(this.own)) return;
      let raw: RawChanges;
      try {
        raw = parseReply(rawChanges, JSON.parse(message.slice(message.indexOf(' ') + 1)), 'A change announcement');
      } catch (error) {
        report(error);
        return;
      }
      listener.changes(changesOf(raw));
    });
    // ioredis resubscribes on 'ready' after a reconnect; the PING answers after that SUBSCRIBE took
    // effect, and the registration after that, so whatever the listener reads on `gap()` is not
    // older than the first message it gets.
    sub.on('ready', () => {
      if (subscribed) registered(sub.ping().then(register), true);
    });
    await sub.subscribe(this.channel);
    await register();
    subscribed = true;
    const renew = setInterval(() => registered(register(), false), Math.floor(this.ttlMs / 3));
    renew.unref();
    return async () => {
      subscribed = false;
      clearInterval(renew);
      // Unregistered first: the others stop announcing to a feed that is going away.
      await cmd.zrem(this.feeds, origin).catch(() => undefined);
      if (cmd !== redis && cmd.status !== 'end') await cmd.quit().catch(() => cmd.disconnect());
      if (sub.status !== 'end') await sub.quit().catch(() => sub.disconnect());
    };
  }
}
