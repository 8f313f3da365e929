import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SeatDelta, SeatStatus } from '#lock-domain';
import type { SeatUpdate } from '#contracts';
import { SeatUpdateCoalescer } from './seat-update-coalescer.js';

const delta = (from: number, changes: Array<[string, SeatStatus]>, eventId: string | number = 'hall'): SeatDelta => ({
  eventId,
  fromVersion: from,
  version: from + 1,
  changes: changes.map(([seatId, status]) => ({ seatId, categoryId: 'stalls', status })),
});

describe('SeatUpdateCoalescer', () => {
  let sent: Array<{ at: number; update: SeatUpdate }>;
  let coalescer: SeatUpdateCoalescer;

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    sent = [];
    coalescer = new SeatUpdateCoalescer({ intervalMs: 100, gapMs: 1000, now: () => Date.now(), send: (u) => sent.push({ at: Date.now(), update: u }) });
  });
  afterEach(() => {
    coalescer.close();
    vi.useRealTimers();
  });

  const brief = () => sent.map(({ at, update }) => ({ at, from: update.fromVersion, to: update.version, changes: update.changes.map((c) => `${c.seatId}:${c.status}`) }));

  it('sends the first at once, then merges a burst into one update per interval, the last status of a seat winning', () => {
    coalescer.offer(delta(1, [['A1', 'held']]));
    vi.advanceTimersByTime(10);
    coalescer.offer(delta(2, [['A2', 'held']]));
    coalescer.offer(delta(3, [['A1', 'available']]));
    coalescer.offer(delta(4, [['A1', 'held'], ['A3', 'held']]));
    vi.advanceTimersByTime(200);
    expect(brief()).toEqual([
      { at: 0, from: 1, to: 2, changes: ['A1:held'] },
      { at: 100, from: 2, to: 5, changes: ['A2:held', 'A1:held', 'A3:held'] },
    ]);
  });

  it('puts deltas back in version order, so updates chain fromVersion → version', () => {
    coalescer.offer(delta(1, [['A1', 'held']]));
    vi.advanceTimersByTime(150);
    coalescer.offer(delta(3, [['A3', 'held']]));
    coalescer.offer(delta(4, [['A4', 'held']]));
    expect(sent).toHaveLength(1);
    coalescer.offer(delta(2, [['A2', 'held']]));
    coalescer.offer(delta(2, [['A2', 'held']])); // a duplicate is dropped
    vi.advanceTimersByTime(500);
    expect(brief()).toEqual([
      { at: 0, from: 1, to: 2, changes: ['A1:held'] },
      { at: 150, from: 2, to: 5, changes: ['A2:held', 'A3:held', 'A4:held'] },
    ]);
  });

  it('a version that never comes is skipped after gapMs: clients see the gap and read the map again', () => {
    coalescer.offer(delta(1, [['A1', 'held']]));
    coalescer.offer(delta(5, [['A5', 'held']]));
    vi.advanceTimersByTime(999);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(brief()[1]).toEqual({ at: 1000, from: 5, to: 6, changes: ['A5:held'] });
  });

  it('keeps events apart', () => {
    coalescer.offer(delta(1, [['A1', 'held']], 'a'));
    coalescer.offer(delta(7, [['A1', 'sold']], 'b'));
    expect(sent.map((s) => [s.update.eventId, s.update.fromVersion])).toEqual([
      ['a', 1],
      ['b', 7],
    ]);
  });
});
