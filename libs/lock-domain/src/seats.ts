import type { CatalogId } from './ids.js';
import { LockError } from './errors.js';

/**
 * Reserved seating (CONTRACT §6), the pure part: seat ids, the seat map model, the best-available
 * picker and the orphan rule. The stores keep the state; these functions decide. The Redis store's
 * Lua (redis/lua seat scripts) implements the same picker and orphan rule line for line; this file
 * is the model its tests compare against.
 *
 * A row is a list of seats in physical left-to-right order. A seat is *free* when it is `available`;
 * every other status (held, sold, blocked) and the row ends bound a *run* of free seats.
 */

export const SEAT_ID_PATTERN = /^[A-Za-z0-9_:-]{1,32}$/;
export const SEAT_STATUSES = ['available', 'held', 'sold', 'blocked'] as const;
export type SeatStatus = (typeof SEAT_STATUSES)[number];

/** `SEAT_ORPHAN_RULE`: `reject` refuses a hold that strands a single seat when another choice would not. */
export type SeatOrphanRule = 'off' | 'reject';

/** One row of a seat map as the catalog gives it: its name and its seat ids, left to right. */
export interface SeatRow {
  row: string;
  seats: string[];
}

/** A reserved category's layout (catalog file `seats`, Events `get-seat-map`): rows best first. */
export interface SeatLayout {
  rows: SeatRow[];
  /** Seats never held or sold (house seats, broken seats). */
  blocked?: string[];
}

/** One seat's status change, as `seat-update` carries it. */
export interface SeatChange {
  seatId: string;
  categoryId: CatalogId;
  status: SeatStatus;
}

/** A store call's seat changes for one event: its seat `version` went from `fromVersion` to `version`. */
export interface SeatDelta {
  eventId: CatalogId;
  fromVersion: number;
  version: number;
  changes: SeatChange[];
}

/** A seat map with statuses at one instant (`seat-map-response`). */
export interface SeatMap {
  eventId: CatalogId;
  version: number;
  categories: Array<{ categoryId: CatalogId; rows: Array<{ row: string; seats: Array<{ seatId: string; status: SeatStatus }> }> }>;
}

export function isSeatId(value: unknown): value is string {
  return typeof value === 'string' && SEAT_ID_PATTERN.test(value);
}

/** Row names are shown to people; they only need to be short, printable and free of the store's separators. */
export const ROW_NAME_PATTERN = /^[^|\p{Cc}]{1,32}$/u;

/** The number of sellable (not blocked) seats: a reserved category's `totalTickets`. */
export function sellableSeats(layout: SeatLayout): number {
  const blocked = new Set(layout.blocked ?? []);
  let count = 0;
  for (const row of layout.rows) for (const seat of row.seats) if (!blocked.has(seat)) count++;
  return count;
}

/**
 * The problems of a layout (empty when valid): seat ids of the wrong form, a seat twice, blocked
 * seats that are not in the map, bad row names. `taken` holds seat ids other categories of the same
 * event already use (a seat id names one seat of the event).
 */
export function layoutProblems(layout: SeatLayout, taken: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  if (!Array.isArray(layout.rows) || layout.rows.length === 0) return ['a seat map needs at least one row'];
  layout.rows.forEach((row, r) => {
    if (typeof row.row !== 'string' || !ROW_NAME_PATTERN.test(row.row)) problems.push(`rows[${r}].row: expected 1-32 printable characters without "|"`);
    if (!Array.isArray(row.seats) || row.seats.length === 0) problems.push(`rows[${r}].seats: expected at least one seat`);
    (row.seats ?? []).forEach((seat, s) => {
      if (!isSeatId(seat)) problems.push(`rows[${r}].seats[${s}]: expected a seat id of 1-32 characters [A-Za-z0-9_:-]`);
      else if (seen.has(seat) || taken.has(seat)) problems.push(`rows[${r}].seats[${s}]: seat ${seat} appears twice in the event`);
      seen.add(seat);
    });
  });
  (layout.blocked ?? []).forEach((seat, b) => {
    if (!seen.has(seat)) problems.push(`blocked[${b}]: ${String(seat)} is not a seat of this category`);
  });
  return problems;
}

/**
 * A `seatIds` list from a request, checked before any store call: a non-empty array of distinct seat
 * ids, at most `max` of them. Anything else is `VALIDATION_FAILED` and nothing is changed.
 */
export function requireSeatIds(value: unknown, max: number): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new LockError('VALIDATION_FAILED', 'seatIds must be a non-empty array of seat ids');
  if (value.length > max) throw new LockError('VALIDATION_FAILED', `seatIds may name at most ${max} seats`);
  const seen = new Set<string>();
  for (const seat of value) {
    if (!isSeatId(seat)) throw new LockError('VALIDATION_FAILED', 'seatIds must be strings of 1-32 characters [A-Za-z0-9_:-]');
    if (seen.has(seat)) throw new LockError('VALIDATION_FAILED', `seat ${seat} is named twice`);
    seen.add(seat);
  }
  return value as string[];
}

/** A maximal run of free seats `[start, end]` (indices, inclusive) in a row. */
export interface Run {
  start: number;
  end: number;
}

/** The runs of free seats of a row, left to right. */
export function freeRuns(free: readonly boolean[]): Run[] {
  const runs: Run[] = [];
  let start = -1;
  for (let i = 0; i <= free.length; i++) {
    if (i < free.length && free[i]) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      runs.push({ start, end: i - 1 });
      start = -1;
    }
  }
  return runs;
}

/**
 * Twice the distance from the centre of `quantity` seats starting at `start` to the row's centre
 * (integers, so the Lua twin computes exactly the same).
 */
export function centreDistance2(start: number, quantity: number, rowLength: number): number {
  return Math.abs(2 * start + quantity - rowLength);
}

/** Taking `quantity` seats at `start` inside `run` strands one seat on either side. */
export function strandsASeat(run: Run, start: number, quantity: number): boolean {
  return start - run.start === 1 || run.end - (start + quantity - 1) === 1;
}

/** Where best available puts `quantity` seats: a row index and the first seat's index in it. */
export interface Pick {
  row: number;
  start: number;
}

/**
 * The best `quantity` adjacent free seats of one row: the window nearest the row's centre (leftmost
 * on a tie), among those that strand no single seat when `orphanFree`, else among all. Null if none.
 */
export function bestInRow(free: readonly boolean[], quantity: number, orphanFree: boolean): number | null {
  let best: number | null = null;
  let bestDistance = Infinity;
  for (const run of freeRuns(free)) {
    for (let start = run.start; start + quantity - 1 <= run.end; start++) {
      if (orphanFree && strandsASeat(run, start, quantity)) continue;
      const distance = centreDistance2(start, quantity, free.length);
      if (distance < bestDistance) {
        best = start;
        bestDistance = distance;
      }
    }
  }
  return best;
}

/**
 * Best available (CONTRACT §6): `quantity` adjacent seats in one row; rows best first; within a row
 * the block nearest the centre; never a block that strands a single free seat (between taken seats
 * or at a row end) when any row has a block that strands none. Refusals: `INSUFFICIENT_TICKETS` when
 * fewer seats are free than asked, `NO_ADJACENT_SEATS` when enough are free but not side by side.
 */
export function pickBestAvailable(rows: ReadonlyArray<readonly boolean[]>, quantity: number): Pick {
  for (const orphanFree of [true, false]) {
    for (let row = 0; row < rows.length; row++) {
      const start = bestInRow(rows[row] as readonly boolean[], quantity, orphanFree);
      if (start !== null) return { row, start };
    }
  }
  let free = 0;
  for (const row of rows) for (const seat of row) if (seat) free++;
  throw new LockError(free < quantity ? 'INSUFFICIENT_TICKETS' : 'NO_ADJACENT_SEATS');
}

/**
 * The orphan rule for a hold in one row (`SEAT_ORPHAN_RULE=reject`): the seats (indices) the hold
 * would strand — free seats left alone in a run of one that was longer before — provided another
 * choice of the same number of adjacent seats in that row would strand none; otherwise none (the
 * hold is the best the row allows). `free` is the row before the hold, `taking` the indices held.
 */
export function strandedByHold(free: readonly boolean[], taking: readonly number[]): number[] {
  const after = free.slice();
  for (const i of taking) after[i] = false;
  const runsBefore = freeRuns(free);
  const stranded: number[] = [];
  for (const run of freeRuns(after)) {
    if (run.start !== run.end) continue;
    const before = runsBefore.find((r) => r.start <= run.start && run.start <= r.end);
    if (before && before.end > before.start) stranded.push(run.start);
  }
  if (stranded.length === 0) return [];
  return bestInRow(free, taking.length, true) === null ? [] : stranded;
}
