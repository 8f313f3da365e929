import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExpiryTimer } from './expiry-timer.js';

describe('ExpiryTimer', () => {
  afterEach(() => vi.useRealTimers());

  it('wakes once per expected expiry, earliest first, corrected for the store clock offset', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const timer = new ExpiryTimer();
    const fired: number[] = [];
    timer.setHandler(() => fired.push(Date.now()));
    // The store clock runs 10 s ahead of ours: its expiresAt 1_015_000 is our 1_005_000.
    timer.expect(1_015_000, 1_010_000);
    timer.expect(1_012_000, 1_010_000);
    vi.advanceTimersByTime(1_999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(fired).toHaveLength(1);
    vi.advanceTimersByTime(3_000);
    expect(fired).toHaveLength(2);
    expect((fired[1] ?? 0) - 1_000_000).toBeGreaterThanOrEqual(5_000);
    vi.advanceTimersByTime(60_000);
    expect(fired).toHaveLength(2);
    timer.onModuleDestroy();
  });
});
