/** Options of a {@link Throttle}. */
export interface ThrottleOptions {
  /** At most one run per key per this many ms (`0`: every touch runs at once). */
  intervalMs: number;
  /** Runs for a key; reads the key's current state itself, so the last run carries the final state. */
  run: (key: string) => void;
  /** Monotonic clock in ms; `performance.now` by default. */
  now?: () => number;
}

/**
 * Coalescing by key, as `availability-update` does it: a touch when nothing ran for the key during
 * the last interval runs at once; later touches are folded into one run when the interval is over,
 * so the last run always sees the final state. One timer per key at most, only while one is due.
 */
export class Throttle {
  private readonly lastRun = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;

  constructor(private readonly options: ThrottleOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  touch(key: string): void {
    if (this.timers.has(key)) return;
    const now = this.now();
    const last = this.lastRun.get(key) ?? -Infinity;
    if (now - last >= this.options.intervalMs) {
      this.fire(key, now);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.fire(key, this.now());
    }, last + this.options.intervalMs - now);
    this.timers.set(key, timer);
  }

  /** Forgets every key and cancels what was due. */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.lastRun.clear();
  }

  private fire(key: string, now: number): void {
    this.lastRun.set(key, now);
    this.options.run(key);
  }
}
