import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Availability } from '#lock-domain';
import { AvailabilityCoalescer } from './availability-coalescer.js';

const update = (version: number, categoryId: string | number = 'a', eventId: string | number = 1): Availability => ({
  eventId,
  categoryId,
  totalTickets: 100,
  availableTickets: 100 - version,
  lockedTickets: version,
  soldTickets: 0,
  version,
  timestamp: new Date(0).toISOString(),
});

describe('AvailabilityCoalescer', () => {
  let sent: Array<{ at: number; update: Availability }>;
  let coalescer: AvailabilityCoalescer;

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    sent = [];
    coalescer = new AvailabilityCoalescer({ intervalMs: 100, now: () => Date.now(), send: (u) => sent.push({ at: Date.now(), update: u }) });
  });
  afterEach(() => {
    coalescer.close();
    vi.useRealTimers();
  });

  it('sends the first update at once and the last of a burst when the interval has passed', () => {
    for (let v = 1; v <= 50; v += 1) {
      coalescer.offer(update(v));
      vi.advanceTimersByTime(4); // 50 updates over 200 ms
    }
    vi.advanceTimersByTime(1000);
    expect(sent.map((s) => s.update.version)).toEqual([1, 25, 50]);
    expect(sent.map((s) => s.at)).toEqual([0, 100, 200]);
  });

  it('never sends more than one update per interval per category', () => {
    for (let t = 0; t < 1000; t += 1) {
      coalescer.offer(update(t + 1));
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(1000);
    const gaps = sent.slice(1).map((s, i) => s.at - (sent[i]?.at ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
    expect(sent.at(-1)?.update.version).toBe(1000);
  });

  it('keeps categories apart, whatever the id form', () => {
    coalescer.offer(update(1, 'a'));
    coalescer.offer(update(1, 'b'));
    coalescer.offer(update(2, 'a', '1'));
    expect(sent.map((s) => [s.update.categoryId, s.update.version])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    vi.advanceTimersByTime(100);
    expect(sent.map((s) => [s.update.categoryId, s.update.version])).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ]);
  });

  it('drops an update older than what was sent or is pending', () => {
    coalescer.offer(update(5));
    coalescer.offer(update(4));
    coalescer.offer(update(7));
    coalescer.offer(update(6));
    vi.advanceTimersByTime(100);
    coalescer.offer(update(7));
    vi.advanceTimersByTime(500);
    expect(sent.map((s) => s.update.version)).toEqual([5, 7]);
  });

  it('sends at once again after a quiet interval', () => {
    coalescer.offer(update(1));
    vi.advanceTimersByTime(150);
    coalescer.offer(update(2));
    expect(sent.map((s) => s.at)).toEqual([0, 150]);
  });

  it('with interval 0, sends every newer update', () => {
    const direct: number[] = [];
    const eager = new AvailabilityCoalescer({ intervalMs: 0, now: () => Date.now(), send: (u) => direct.push(u.version) });
    eager.offer(update(1));
    vi.advanceTimersByTime(1);
    eager.offer(update(2));
    vi.advanceTimersByTime(1);
    eager.offer(update(2));
    eager.close();
    expect(direct).toEqual([1, 2]);
  });
});
