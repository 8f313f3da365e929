/** DI token for the {@link RateLimiter}. */
export const RATE_LIMITER = Symbol('RATE_LIMITER');

/**
 * The per-user request budget (`RATE_LIMIT_PER_MINUTE`), checked for every client→server message.
 *
 * `consume` is synchronous on purpose: it runs on every message, so no implementation may wait for
 * the network there. An implementation shared by several instances (Redis) decides locally from the
 * cluster total it last heard plus its own requests since, and exchanges counts with Redis in the
 * background, in batches (see `RedisRateLimiter`). The lock hot path thus stays one Redis round
 * trip, and the limit holds across instances to within one sync period.
 */
export interface RateLimiter {
  /**
   * Counts one request of `userId`; `false` means the user is over the limit and the request must be
   * refused (refused requests are not counted, so a client that backs off recovers).
   */
  consume(userId: string): boolean;

  /**
   * A connection of `userId` arrived: a shared limiter starts reading the user's cluster-wide count
   * now, so the first requests on this instance are not decided on stale counts.
   */
  track?(userId: string): void;

  /** Stops background work (timers, sync loops); a shared limiter also hands over its last counts. */
  close?(): void | Promise<void>;
}
