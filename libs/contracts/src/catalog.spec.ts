import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogError, loadCatalogFile, loadCatalogWaitingRooms, parseCatalog, parseCatalogWaitingRooms } from './catalog.js';

const DEMO_FILE = fileURLToPath(new URL('../../../catalog/demo-events.json', import.meta.url));

const event = (over: Record<string, unknown> = {}) => ({
  id: 1,
  name: 'Show',
  categories: [{ categoryId: 1, name: 'VIP', totalTickets: 10 }],
  ...over,
});

function refusal(json: unknown): string {
  try {
    parseCatalog(json);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    return (error as Error).message;
  }
  throw new Error('expected the catalog to be refused');
}

describe('parseCatalog', () => {
  it('keeps ids in the form the catalog gives them, names optional, extra fields dropped', () => {
    const events = parseCatalog({
      events: [
        { id: 7, venue: 'Hall A', categories: [{ categoryId: 'vip', totalTickets: 0, price: 99 }] },
        { id: 'summer-fest:2027_b', name: 'Fest', categories: [] },
      ],
    });
    expect(events).toEqual([
      { id: 7, categories: [{ categoryId: 'vip', totalTickets: 0 }] },
      { id: 'summer-fest:2027_b', name: 'Fest', categories: [] },
    ]);
  });

  it('accepts an empty catalog', () => {
    expect(parseCatalog({ events: [] })).toEqual([]);
  });

  it.each([
    ['not an object', 42, '(root)'],
    ['no events array', { events: {} }, 'events'],
    ['event without id', { events: [{ categories: [] }] }, 'events[0].id'],
    ['negative id', { events: [event({ id: -1 })] }, 'events[0].id'],
    ['fractional id', { events: [event({ id: 1.5 })] }, 'events[0].id'],
    ['unsafe integer id', { events: [event({ id: 2 ** 53 })] }, 'events[0].id'],
    ['id with a space', { events: [event({ id: 'summer fest' })] }, 'events[0].id'],
    ['empty string id', { events: [event({ id: '' })] }, 'events[0].id'],
    ['id of 65 chars', { events: [event({ id: 'a'.repeat(65) })] }, 'events[0].id'],
    ['categories missing', { events: [{ id: 1 }] }, 'events[0].categories'],
    ['category not an object', { events: [event({ categories: ['vip'] })] }, 'events[0].categories[0]'],
    [
      'negative totalTickets',
      { events: [event(), event({ id: 2, categories: [{ categoryId: 1, totalTickets: -3 }] })] },
      'events[1].categories[0].totalTickets',
    ],
    [
      'fractional totalTickets',
      { events: [event({ categories: [{ categoryId: 1, totalTickets: 2.5 }] })] },
      'events[0].categories[0].totalTickets',
    ],
    [
      'totalTickets as a string',
      { events: [event({ categories: [{ categoryId: 1, totalTickets: '50' }] })] },
      'events[0].categories[0].totalTickets',
    ],
    ['name not a string', { events: [event({ name: 5 })] }, 'events[0].name'],
  ])('refuses %s, naming the path', (_label, json, path) => {
    expect(refusal(json)).toContain(`${path}:`);
  });

  it('says what an id must look like', () => {
    expect(refusal({ events: [event({ id: 'no spaces' })] })).toMatch(/events\[0\]\.id: expected a non-negative integer or a string of 1-64 characters/);
  });

  it('lists every problem, not only the first', () => {
    const message = refusal({ events: [event({ id: -1 }), event({ id: 2, categories: [{ categoryId: 1, totalTickets: -1 }] })] });
    expect(message).toContain('events[0].id:');
    expect(message).toContain('events[1].categories[0].totalTickets:');
  });

  it('refuses duplicate event ids, 1 and "1" being the same id', () => {
    expect(refusal({ events: [event({ id: 'a' }), event({ id: 'a' })] })).toMatch(/events\[1\]\.id: duplicate event id "a"/);
    expect(refusal({ events: [event({ id: 1 }), event({ id: 2 }), event({ id: '1' })] })).toMatch(
      /events\[2\]\.id: duplicate event id "1" \(same as events\[0\]/,
    );
  });

  it('refuses duplicate category ids within an event, but allows the same category id in two events', () => {
    const dup = event({
      categories: [
        { categoryId: 3, totalTickets: 1 },
        { categoryId: 'x', totalTickets: 1 },
        { categoryId: '3', totalTickets: 1 },
      ],
    });
    expect(refusal({ events: [dup] })).toMatch(/events\[0\]\.categories\[2\]\.categoryId: duplicate category id "3" \(same as categories\[0\]/);
    expect(parseCatalog({ events: [event({ id: 1 }), event({ id: 2 })] })).toHaveLength(2);
  });
});

describe('parseCatalog: reserved categories', () => {
  const seats = { rows: [{ row: 'A', seats: ['A1', 'A2', 'A3'] }], blocked: ['A1'] };
  const refusal = (json: unknown) => {
    try {
      parseCatalog(json);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected a refusal');
  };

  it('takes a seat map instead of a count: totalTickets is the sellable seats', () => {
    const [event] = parseCatalog({ events: [{ id: 9, categories: [{ categoryId: 'r', seats }, { categoryId: 'ga', totalTickets: 5 }] }] });
    expect(event?.categories).toEqual([
      { categoryId: 'r', totalTickets: 2, seats },
      { categoryId: 'ga', totalTickets: 5 },
    ]);
    expect(parseCatalog({ events: [{ id: 9, categories: [{ categoryId: 'r', totalTickets: 2, seats }] }] })).toHaveLength(1);
  });

  it('refuses bad seat ids, unknown blocked seats, a seat twice in the event and a wrong total', () => {
    expect(refusal({ events: [{ id: 9, categories: [{ categoryId: 'r', seats: { rows: [{ row: 'A', seats: ['A 1'] }] } }] }] })).toContain(
      'events[0].categories[0].seats.rows[0].seats[0]: expected a seat id of 1-32 characters',
    );
    expect(refusal({ events: [{ id: 9, categories: [{ categoryId: 'r', seats: { rows: [{ row: 'A', seats: ['A1'] }], blocked: ['B1'] } }] }] })).toContain(
      'events[0].categories[0].seats.blocked[0]: B1 is not a seat of this category',
    );
    const twice = { events: [{ id: 9, categories: [{ categoryId: 'r', seats }, { categoryId: 's', seats: { rows: [{ row: 'B', seats: ['A2'] }] } }] }] };
    expect(refusal(twice)).toContain('events[0].categories[1].seats.rows[0].seats[0]: seat A2 appears twice in the event');
    expect(refusal({ events: [{ id: 9, categories: [{ categoryId: 'r', totalTickets: 3, seats }] }] })).toContain(
      'events[0].categories[0].totalTickets: must be the number of sellable seats (2)',
    );
    expect(refusal({ events: [{ id: 9, categories: [{ categoryId: 'ga' }] }] })).toContain('events[0].categories[0].totalTickets: expected a non-negative integer');
  });
});

describe('loadCatalogFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'catalog-spec-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses the demo catalog: 5 events (one a cinema with reserved seats), numeric and string ids, unique ids, one waiting room', async () => {
    const events = await loadCatalogFile(DEMO_FILE);
    expect(events).toHaveLength(5);
    expect(await loadCatalogWaitingRooms(DEMO_FILE)).toEqual([
      { eventId: 'flash-sale', settings: { admitPerMinute: 30, maxActiveUsers: 20, admissionMs: 600_000 } },
    ]);
    const cinema = events.find((e) => e.id === 'cinema-1')?.categories[0];
    expect(cinema?.seats?.rows).toHaveLength(8);
    expect(cinema?.totalTickets).toBe(94);
    const ids = events.map((e) => e.id);
    expect(ids.some((id) => typeof id === 'number')).toBe(true);
    expect(ids.some((id) => typeof id === 'string')).toBe(true);
    for (const e of events) {
      expect(e.name).toEqual(expect.any(String));
      expect(e.categories.length).toBeGreaterThan(0);
      for (const c of e.categories) expect(c.totalTickets).toBeGreaterThan(0);
    }
  });

  it('names the file when it is missing', async () => {
    const missing = join(dir, 'nope.json');
    await expect(loadCatalogFile(missing)).rejects.toThrow(`Catalog file ${missing}: cannot read it (no such file)`);
  });

  it('names the file when it is not JSON', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ "events": [ ');
    await expect(loadCatalogFile(file)).rejects.toThrow(new RegExp(`^Catalog file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
  });

  it('names the file and the path when the shape is wrong', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ events: [{ id: 1, categories: [{ categoryId: 1, totalTickets: -1 }] }] }));
    const error = await loadCatalogFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as Error).message).toContain(`Catalog file ${file}: invalid catalog: events[0].categories[0].totalTickets:`);
  });
});

describe('catalog waiting rooms (CONTRACT §7)', () => {
  const event = (waitingRoom: unknown) => ({ events: [{ id: 'flash', categories: [{ categoryId: 'ga', totalTickets: 10 }], waitingRoom }] });

  it('reads "waitingRoom" on an event: minutes to ms (default 10), salesStartAt as ISO or epoch ms', () => {
    expect(parseCatalogWaitingRooms(event({ admitPerMinute: 60, maxActiveUsers: 5 }))).toEqual([
      { eventId: 'flash', settings: { admitPerMinute: 60, maxActiveUsers: 5, admissionMs: 600_000 } },
    ]);
    expect(parseCatalogWaitingRooms(event({ admitPerMinute: 0.5, maxActiveUsers: 1, admissionMinutes: 0.05, salesStartAt: '2027-06-01T10:00:00Z' }))).toEqual([
      { eventId: 'flash', settings: { admitPerMinute: 0.5, maxActiveUsers: 1, admissionMs: 3000, salesStartAt: Date.parse('2027-06-01T10:00:00Z') } },
    ]);
    expect(parseCatalogWaitingRooms(event(undefined))).toEqual([]);
  });

  it.each([
    [{ admitPerMinute: 0, maxActiveUsers: 5 }, 'events[0].waitingRoom.admitPerMinute'],
    [{ admitPerMinute: 60, maxActiveUsers: 1.5 }, 'events[0].waitingRoom.maxActiveUsers'],
    [{ admitPerMinute: 60, maxActiveUsers: 5, admissionMinutes: -1 }, 'events[0].waitingRoom.admissionMinutes'],
    [{ admitPerMinute: 60, maxActiveUsers: 5, salesStartAt: 'next friday' }, 'events[0].waitingRoom.salesStartAt'],
    ['on', 'events[0].waitingRoom'],
  ])('refuses a bad waiting room %j, naming %s', (waitingRoom, path) => {
    expect(() => parseCatalog(event(waitingRoom))).toThrow(CatalogError);
    expect(() => parseCatalog(event(waitingRoom))).toThrow(path);
  });
});
