import { afterEach, describe, expect, it } from 'vitest';
import { InProcessRateLimiter } from './in-process-rate-limiter.js';

describe('InProcessRateLimiter', () => {
  let now = 0;
  let limiter: InProcessRateLimiter | undefined;
  afterEach(() => limiter?.close());

  const make = (limit: number) => {
    now = 600_000;
    limiter = new InProcessRateLimiter({ limit, now: () => now });
    return limiter;
  };

  it('allows `limit` requests per user per minute, then refuses', () => {
    const rl = make(5);
    expect(Array.from({ length: 7 }, () => rl.consume('u'))).toEqual([true, true, true, true, true, false, false]);
    expect(rl.consume('other')).toBe(true);
  });

  it('never allows more than the limit in a burst straddling a window boundary', () => {
    const rl = make(10);
    now = 659_990; // 10 ms before the next window
    const before = Array.from({ length: 6 }, () => rl.consume('u')).filter(Boolean).length;
    now = 660_001;
    const after = Array.from({ length: 10 }, () => rl.consume('u')).filter(Boolean).length;
    expect(before + after).toBe(10);
  });

  it('recovers as the window slides, and refused requests do not count', () => {
    const rl = make(4);
    for (let i = 0; i < 20; i += 1) rl.consume('u');
    now += 60_000 + 30_000; // half of the previous window still overlaps: 2 of 4 count
    expect(Array.from({ length: 4 }, () => rl.consume('u'))).toEqual([true, true, false, false]);
    now += 120_000;
    expect(rl.consume('u')).toBe(true);
  });

  it('forgets users idle for two windows', () => {
    const rl = make(3);
    rl.consume('a');
    rl.consume('b');
    now += 60_000;
    rl.prune();
    expect(rl.size).toBe(2);
    now += 60_000;
    rl.prune();
    expect(rl.size).toBe(0);
  });
});
