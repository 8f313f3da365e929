import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ID_PATTERN, ROW_NAME_PATTERN, SEAT_ID_PATTERN, idKey, sellableSeats, type CatalogId, type EventInfo, type SeatLayout, type WaitingRoomSettings } from '#lock-domain';
import { catalogWaitingRoomSchema } from './waiting-room.js';

/**
 * The catalog file (`CATALOG_FILE`, `EVENTS_SOURCE=catalog`): the events and ticket categories the
 * service knows when it runs without the Events service.
 *
 * ```json
 * { "events": [ { "id": 1, "name": "…", "categories": [ { "categoryId": "vip", "name": "VIP", "totalTickets": 50 } ] } ] }
 * ```
 *
 * Ids are non-negative safe integers or strings of 1–64 chars `[A-Za-z0-9_:-]` (CONTRACT §1). `1` and
 * `"1"` name the same thing, so uniqueness is checked on {@link idKey}; the form given here is the
 * form broadcasts carry. Unknown extra fields (a venue, a date) are ignored.
 *
 * A reserved category (CONTRACT §6) carries its seat map instead of a count:
 * `"seats": { "rows": [ { "row": "A", "seats": ["A1", "A2"] } ], "blocked": ["A1"] }` — rows best
 * first, seats left to right, seat ids of 1–32 chars `[A-Za-z0-9_:-]` unique within the event. Its
 * `totalTickets` is its number of sellable (not blocked) seats; a given one must say the same.
 */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

const ID_RULE = 'expected a non-negative integer or a string of 1-64 characters [A-Za-z0-9_:-]';
// The message on every branch: zod 4 reports the branch whose type matched (a string failing the pattern).
const catalogId = z.union(
  [z.int({ error: ID_RULE }).min(0, ID_RULE), z.string({ error: ID_RULE }).regex(ID_PATTERN, ID_RULE)],
  { error: ID_RULE },
);

const displayName = z
  .string({ error: 'expected a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .optional();

/** Ids must be unique as {@link idKey}s: `1` and `"1"` clash. Each repeat is reported at its path. */
function refuseDuplicateIds(ctx: z.RefinementCtx, ids: CatalogId[], list: string, field: string, what: string): void {
  const seen = new Map<string, number>();
  ids.forEach((id, index) => {
    const first = seen.get(idKey(id));
    if (first === undefined) {
      seen.set(idKey(id), index);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [list, index, field],
      message: `duplicate ${what} id ${JSON.stringify(id)} (same as ${list}[${first}]; 1 and "1" are the same id)`,
    });
  });
}

const SEAT_RULE = 'expected a seat id of 1-32 characters [A-Za-z0-9_:-]';
const seatId = z.string({ error: SEAT_RULE }).regex(SEAT_ID_PATTERN, SEAT_RULE);
const seatMapSchema = z
  .object(
    {
      rows: z
        .array(
          z.object(
            {
              row: z.string({ error: 'expected a row name' }).regex(ROW_NAME_PATTERN, 'expected 1-32 printable characters without "|"'),
              seats: z.array(seatId, { error: 'expected an array of seat ids' }).min(1, 'expected at least one seat'),
            },
            { error: 'expected an object { row, seats }' },
          ),
          { error: 'expected an array of rows' },
        )
        .min(1, 'expected at least one row'),
      blocked: z.array(seatId, { error: 'expected an array of seat ids' }).optional(),
    },
    { error: 'expected an object { rows, blocked? }' },
  )
  .superRefine((map, ctx) => {
    const seats = new Set(map.rows.flatMap((row) => row.seats));
    (map.blocked ?? []).forEach((seat, index) => {
      if (!seats.has(seat)) ctx.addIssue({ code: 'custom', path: ['blocked', index], message: `${seat} is not a seat of this category` });
    });
  });

const NON_NEGATIVE = 'expected a non-negative integer';
const categorySchema = z
  .object(
    {
      categoryId: catalogId,
      name: displayName,
      totalTickets: z.int({ error: NON_NEGATIVE }).min(0, NON_NEGATIVE).optional(),
      seats: seatMapSchema.optional(),
    },
    { error: 'expected an object { categoryId, name?, totalTickets } or { categoryId, name?, seats }' },
  )
  .superRefine((category, ctx) => {
    if (category.seats === undefined) {
      if (category.totalTickets === undefined) ctx.addIssue({ code: 'custom', path: ['totalTickets'], message: NON_NEGATIVE });
      return;
    }
    const seats = sellableSeats(category.seats);
    if (category.totalTickets !== undefined && category.totalTickets !== seats) {
      ctx.addIssue({ code: 'custom', path: ['totalTickets'], message: `must be the number of sellable seats (${seats}) or left out` });
    }
  });

/** A seat id names one seat of the event: each repeat (in any category) is reported at its path. */
function refuseDuplicateSeats(ctx: z.RefinementCtx, categories: Array<{ seats?: SeatLayout | undefined }>): void {
  const seen = new Set<string>();
  categories.forEach((category, c) => {
    category.seats?.rows.forEach((row, r) =>
      row.seats.forEach((seat, s) => {
        if (seen.has(seat)) ctx.addIssue({ code: 'custom', path: ['categories', c, 'seats', 'rows', r, 'seats', s], message: `seat ${seat} appears twice in the event` });
        seen.add(seat);
      }),
    );
  });
}

const eventSchema = z
  .object(
    {
      id: catalogId,
      name: displayName,
      categories: z.array(categorySchema, { error: 'expected an array of categories' }),
      // CONTRACT §7: read by parseCatalogWaitingRooms.
      waitingRoom: catalogWaitingRoomSchema.optional(),
    },
    { error: 'expected an object { id, name?, categories }' },
  )
  .superRefine((event, ctx) => {
    refuseDuplicateIds(ctx, event.categories.map((c) => c.categoryId), 'categories', 'categoryId', 'category');
    refuseDuplicateSeats(ctx, event.categories);
  });

const catalogSchema = z
  .object(
    { events: z.array(eventSchema, { error: 'expected an array of events' }) },
    { error: 'expected an object { "events": [...] }' },
  )
  .superRefine((catalog, ctx) => refuseDuplicateIds(ctx, catalog.events.map((e) => e.id), 'events', 'id', 'event'));

/** `events[2].categories[0].totalTickets`, or `(root)`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Validates a parsed catalog document and returns its events. Throws {@link CatalogError} listing
 * every problem with its path (`events[1].categories[0].totalTickets: expected a non-negative integer`).
 */
export function parseCatalog(json: unknown): EventInfo[] {
  const parsed = catalogSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw new CatalogError(`invalid catalog: ${problems.join('; ')}`);
  }
  return parsed.data.events.map((event) => ({
    id: event.id,
    ...(event.name !== undefined ? { name: event.name } : {}),
    categories: event.categories.map((category) => ({
      categoryId: category.categoryId,
      ...(category.name !== undefined ? { name: category.name } : {}),
      totalTickets: category.seats ? sellableSeats(category.seats) : (category.totalTickets ?? 0),
      ...(category.seats
        ? { seats: { rows: category.seats.rows.map((row) => ({ row: row.row, seats: [...row.seats] })), ...(category.seats.blocked ? { blocked: [...category.seats.blocked] } : {}) } }
        : {}),
    })),
  }));
}

/** Reads, parses and validates a catalog file; every error names the file. Relative paths resolve from the working directory. */
export async function loadCatalogFile(path: string): Promise<EventInfo[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new CatalogError(`Catalog file ${path}: cannot read it (${why})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new CatalogError(`Catalog file ${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  try {
    return parseCatalog(json);
  } catch (error) {
    if (error instanceof CatalogError) throw new CatalogError(`Catalog file ${path}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** An event's waiting room as the catalog file configures it. */
export interface CatalogWaitingRoom {
  eventId: CatalogId;
  settings: WaitingRoomSettings;
}

/** The waiting rooms a (valid) catalog document configures, in file order. Throws like {@link parseCatalog}. */
export function parseCatalogWaitingRooms(json: unknown): CatalogWaitingRoom[] {
  parseCatalog(json);
  const parsed = catalogSchema.parse(json);
  return parsed.events.flatMap((event) => (event.waitingRoom ? [{ eventId: event.id, settings: event.waitingRoom }] : []));
}

/** The waiting rooms of a catalog file (read again: the events were defined from it already). */
export async function loadCatalogWaitingRooms(path: string): Promise<CatalogWaitingRoom[]> {
  try {
    return parseCatalogWaitingRooms(JSON.parse(await readFile(path, 'utf8')) as unknown);
  } catch (error) {
    throw new CatalogError(`Catalog file ${path}: ${(error as Error).message}`, { cause: error });
  }
}
