/**
 * One user's sliding-window counter: the count of the current fixed window plus the previous
 * window's count weighted by how much of it still overlaps the sliding window. O(1) memory per user,
 * and it is made of per-window counts, which is what a Redis implementation can add up across
 * instances.
 */
export interface WindowCounts {
  /** Index of the current window (`floor(now / windowMs)`). */
  window: number;
  current: number;
  previous: number;
}

/** Moves `counts` to the window containing `now` (in place). */
export function roll(counts: WindowCounts, now: number, windowMs: number): void {
  const window = Math.floor(now / windowMs);
  if (window === counts.window) return;
  counts.previous = window === counts.window + 1 ? counts.current : 0;
  counts.current = 0;
  counts.window = window;
}

/**
 * Requests seen in the sliding window ending at `now`. The previous window's share is rounded up so
 * a burst straddling a window boundary never gets more than the limit.
 */
export function slidingCount(counts: WindowCounts, now: number, windowMs: number): number {
  return weightedCount(counts.previous, counts.current, counts.window, now, windowMs);
}

/** {@link slidingCount} from the two window counts themselves (`window` is the current one's index). */
export function weightedCount(previous: number, current: number, window: number, now: number, windowMs: number): number {
  const overlap = 1 - (now - window * windowMs) / windowMs;
  return Math.ceil(previous * overlap) + current;
}
