import type { RateLimiter } from './rate-limiter.js';
import { roll, slidingCount, type WindowCounts } from './sliding-window.js';

/** Options of the {@link InProcessRateLimiter}. */
export interface InProcessRateLimiterOptions {
  /** Requests a user may make per window (`RATE_LIMIT_PER_MINUTE`); must be above 0. */
  limit: number;
  /** Window length; one minute by default. */
  windowMs?: number;
  /** Clock (epoch ms); `Date.now` by default. */
  now?: () => number;
}

/**
 * {@link RateLimiter} for one instance (without Redis; with Redis, `RedisRateLimiter` shares the
 * budget). Sliding-window counter per user; users idle for two windows are forgotten, so memory
 * follows the number of recently active users.
 */
export class InProcessRateLimiter implements RateLimiter {
  private readonly users = new Map<string, WindowCounts>();
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly pruner: NodeJS.Timeout;

  constructor(private readonly options: InProcessRateLimiterOptions) {
    if (!(options.limit > 0)) throw new RangeError('rate limit must be above 0');
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.pruner = setInterval(() => this.prune(), this.windowMs);
    this.pruner.unref();
  }

  consume(userId: string): boolean {
    const now = this.now();
    let counts = this.users.get(userId);
    if (!counts) {
      counts = { window: Math.floor(now / this.windowMs), current: 0, previous: 0 };
      this.users.set(userId, counts);
    } else {
      roll(counts, now, this.windowMs);
    }
    if (slidingCount(counts, now, this.windowMs) >= this.options.limit) return false;
    counts.current += 1;
    return true;
  }

  /** Users currently tracked (for tests and metrics). */
  get size(): number {
    return this.users.size;
  }

  /** Forgets users whose counts no longer matter (nothing in the current or previous window). */
  prune(): void {
    const window = Math.floor(this.now() / this.windowMs);
    for (const [userId, counts] of this.users) {
      if (counts.window < window - 1) this.users.delete(userId);
    }
  }

  close(): void {
    clearInterval(this.pruner);
    this.users.clear();
  }
}
