import { describe, expect, it } from 'vitest';
import { LockError } from './errors.js';
import {
  bestInRow,
  freeRuns,
  layoutProblems,
  pickBestAvailable,
  requireSeatIds,
  sellableSeats,
  strandedByHold,
} from './seats.js';

/** `'..x.'` → free flags: `.` free, anything else taken. */
const row = (text: string) => [...text].map((c) => c === '.');

function codeOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    return error instanceof LockError ? error.code : String(error);
  }
}

/** A small deterministic PRNG, so the properties below are reproducible. */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('seat ids', () => {
  it('requireSeatIds refuses empty, repeated, too many, non-strings and bad ids', () => {
    expect(requireSeatIds(['A1', 'A-2', 'b:3_x'], 10)).toEqual(['A1', 'A-2', 'b:3_x']);
    expect(codeOf(() => requireSeatIds([], 10))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => requireSeatIds('A1', 10))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => requireSeatIds(['A1', 'A1'], 10))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => requireSeatIds(Array.from({ length: 1000 }, (_, i) => `S${i}`), 10))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => requireSeatIds([1, 2], 10))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => requireSeatIds(['A 1'], 10))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => requireSeatIds(['x'.repeat(33)], 10))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => requireSeatIds([''], 10))).toBe('VALIDATION_FAILED');
  });
});

describe('layouts', () => {
  const layout = { rows: [{ row: 'A', seats: ['A1', 'A2', 'A3'] }, { row: 'B', seats: ['B1', 'B2'] }], blocked: ['A1'] };

  it('a valid layout has no problems; its sellable seats exclude the blocked ones', () => {
    expect(layoutProblems(layout)).toEqual([]);
    expect(sellableSeats(layout)).toBe(4);
  });

  it('names repeated seats (also across categories), bad ids, unknown blocked seats and empty rows', () => {
    expect(layoutProblems({ rows: [{ row: 'A', seats: ['A1', 'A1'] }] })).toEqual(['rows[0].seats[1]: seat A1 appears twice in the event']);
    expect(layoutProblems(layout, new Set(['B2']))).toEqual(['rows[1].seats[1]: seat B2 appears twice in the event']);
    expect(layoutProblems({ rows: [{ row: 'A', seats: ['A 1'] }] })[0]).toMatch(/^rows\[0\]\.seats\[0\]/);
    expect(layoutProblems({ rows: [{ row: 'A', seats: ['A1'] }], blocked: ['Z9'] })).toEqual(['blocked[0]: Z9 is not a seat of this category']);
    expect(layoutProblems({ rows: [{ row: 'A', seats: [] }] })).toEqual(['rows[0].seats: expected at least one seat']);
    expect(layoutProblems({ rows: [] })).toEqual(['a seat map needs at least one row']);
  });
});

describe('best available', () => {
  it('runs of free seats', () => {
    expect(freeRuns(row('..x...x'))).toEqual([
      { start: 0, end: 1 },
      { start: 3, end: 5 },
    ]);
    expect(freeRuns(row('xxx'))).toEqual([]);
  });

  it('takes the block nearest the row centre, leftmost on a tie', () => {
    expect(bestInRow(row('..........'), 2, true)).toBe(4); // seats 4,5 of 0..9
    expect(bestInRow(row('.........'), 2, true)).toBe(3); // 3,4 and 4,5 tie: leftmost
    expect(bestInRow(row('.........'), 3, true)).toBe(3);
  });

  it('never strands a single seat when another block does not', () => {
    // The centre block 4..5 would leave seat 3 alone next to the taken seat 2; 3..4 and 5..6 tie.
    expect(bestInRow(row('xxx.......'), 2, true)).toBe(3);
    expect(bestInRow(row('xxx.......'), 2, false)).toBe(4);
    // A run of exactly quantity + 1 always strands one: any orphan-free row wins over it.
    expect(pickBestAvailable([row('...'), row('....')], 2)).toEqual({ row: 1, start: 0 }); // 1..2 strands both ends
    expect(pickBestAvailable([row('...'), row('xxx')], 2)).toEqual({ row: 0, start: 0 });
  });

  it('rows best first', () => {
    expect(pickBestAvailable([row('x.x.x'), row('.....'), row('.....')], 2)).toEqual({ row: 1, start: 0 });
  });

  it('refuses INSUFFICIENT_TICKETS when too few are free, NO_ADJACENT_SEATS when they are apart', () => {
    expect(codeOf(() => pickBestAvailable([row('.x.'), row('x.x')], 4))).toBe('INSUFFICIENT_TICKETS');
    expect(codeOf(() => pickBestAvailable([row('.x.'), row('x.x')], 2))).toBe('NO_ADJACENT_SEATS');
  });

  it('property: the pick is free, adjacent, in the first row that can take it, orphan-free whenever possible', () => {
    const random = prng(15);
    for (let round = 0; round < 2000; round++) {
      const rows = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
        Array.from({ length: 1 + Math.floor(random() * 12) }, () => random() < 0.6),
      );
      const quantity = 1 + Math.floor(random() * 4);
      const windows = (r: boolean[]) => {
        const out: { start: number; orphan: boolean }[] = [];
        for (let s = 0; s + quantity <= r.length; s++) {
          if (!r.slice(s, s + quantity).every(Boolean)) continue;
          const left = s >= 1 && r[s - 1] && (s === 1 || !r[s - 2]);
          const right = s + quantity < r.length && r[s + quantity] && (s + quantity === r.length - 1 || !r[s + quantity + 1]);
          out.push({ start: s, orphan: Boolean(left || right) });
        }
        return out;
      };
      const all = rows.map(windows);
      const anyClean = all.some((w) => w.some((x) => !x.orphan));
      let pick;
      try {
        pick = pickBestAvailable(rows, quantity);
      } catch (error) {
        expect(all.every((w) => w.length === 0)).toBe(true);
        const free = rows.flat().filter(Boolean).length;
        expect((error as LockError).code).toBe(free < quantity ? 'INSUFFICIENT_TICKETS' : 'NO_ADJACENT_SEATS');
        continue;
      }
      const candidates = all[pick.row] as { start: number; orphan: boolean }[];
      const chosen = candidates.find((w) => w.start === pick.start);
      expect(chosen).toBeDefined();
      if (anyClean) {
        expect(chosen?.orphan).toBe(false);
        expect(all.findIndex((w) => w.some((x) => !x.orphan))).toBe(pick.row);
      } else {
        expect(all.findIndex((w) => w.length > 0)).toBe(pick.row);
      }
      const length = (rows[pick.row] as boolean[]).length;
      const eligible = candidates.filter((w) => !anyClean || !w.orphan);
      const distance = (s: number) => Math.abs(2 * s + quantity - length);
      expect(distance(pick.start)).toBe(Math.min(...eligible.map((w) => distance(w.start))));
    }
  });
});

describe('orphan rule', () => {
  it('names the seat a hold strands when another block in the row would strand none', () => {
    // Taking 1,2 of a free row of 6 leaves seat 0 alone at the row end; 2,3 would not.
    expect(strandedByHold(row('......'), [1, 2])).toEqual([0]);
    expect(strandedByHold(row('......'), [2, 3])).toEqual([]);
    // Between taken seats.
    expect(strandedByHold(row('x.....x'), [2, 3])).toEqual([1]);
  });

  it('allows the hold when every choice of that many seats would strand one', () => {
    expect(strandedByHold(row('...'), [0, 1])).toEqual([]);
    expect(strandedByHold(row('x..x'), [1])).toEqual([]);
    expect(strandedByHold(row('x...x'), [2])).toEqual([1, 3]);
  });

  it('does not blame a hold for a seat that was already alone', () => {
    expect(strandedByHold(row('.x......'), [4, 5])).toEqual([]);
  });
});
