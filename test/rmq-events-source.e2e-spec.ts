import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropKeys, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, ok, request } from './support/clients.js';
import { anyString } from './support/matchers.js';
import { FakeEventsService, NO_REPLY, TestBroker, rmqEnv, rmqNames } from './support/rmq-broker.js';
import { uniqueName } from './support/services.js';

const TIMEOUT_MS = 800;

/** What the fake Events service knows. `silent` never answers. */
const CATALOG: Record<string, Array<{ categoryId: string | number; name?: string; totalTickets: number }>> = {
  'evt-1': [
    { categoryId: 'cat-a', name: 'Stalls', totalTickets: 1000 },
    { categoryId: 7, totalTickets: 5 },
  ],
  'evt-burst': [{ categoryId: 'floor', totalTickets: 1000 }],
  'evt-room': [
    { categoryId: 'front', name: 'Front', totalTickets: 30 },
    { categoryId: 'back', totalTickets: 70 },
  ],
};

/** An Events service answering with the original platform's TicketCategory entities (CONTRACT §9). */
const ENTITY_ROWS = [
  { id: 31, categoryName: 'Gold', price: '120.00', totalSeats: 10, reservedSeats: 4, availableSeats: 6, isActive: true, eventId: 3 },
  { id: 32, categoryName: 'Silver', price: '60.00', totalSeats: 20, reservedSeats: 0, availableSeats: 20, isActive: true, eventId: 3 },
];

function answer(pattern: string, data: Record<string, unknown>): unknown {
  const eventId = String(data.eventId);
  if (eventId === 'silent') return NO_REPLY;
  if (eventId === 'evt-entities') {
    if (pattern === 'get-ticket-categories') return ENTITY_ROWS;
    return ENTITY_ROWS.find((row) => String(row.id) === String(data.categoryId)) ?? null;
  }
  const categories = CATALOG[eventId];
  if (pattern === 'get-seat-map') return categories ? { eventId: data.eventId, categories: [] } : null;
  if (pattern === 'get-ticket-categories') return categories ? categories.map((c) => ({ ...c, availableTickets: c.totalTickets })) : null;
  if (pattern === 'get-ticket-availability') {
    const category = categories?.find((c) => String(c.categoryId) === String(data.categoryId));
    return category ? { eventId: data.eventId, categoryId: category.categoryId, totalTickets: category.totalTickets, availableTickets: category.totalTickets } : null;
  }
  return NO_REPLY;
}

/** `EVENTS_SOURCE=rabbitmq`: capacities come from the Events service, asked once, then cached in Redis. */
describe('RabbitMQ: the Events service as availability source', () => {
  const names = rmqNames('rmq-events');
  const prefix = uniqueName('e2e-events');
  let app: TestApp;
  let events: FakeEventsService;
  let broker: TestBroker;

  const start = () =>
    startApp({ env: { ...rmqEnv(names), EVENTS_SOURCE: 'rabbitmq', EVENTS_TIMEOUT_MS: String(TIMEOUT_MS), REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '0' } });

  beforeAll(async () => {
    broker = await TestBroker.forService(names);
    broker.track(names.eventsQueue);
    events = await FakeEventsService.start(names.eventsQueue, answer);
    app = await start();
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await app?.close();
    await events?.stop();
    await broker?.close();
    await dropKeys(prefix);
  });

  const availabilityAsked = (eventId: string, categoryId?: string) =>
    events.count('get-ticket-availability', (d) => String(d.eventId) === eventId && (categoryId === undefined || String(d.categoryId) === categoryId));
  const categoriesAsked = (eventId: string) => events.count('get-ticket-categories', (d) => String(d.eventId) === eventId);

  it('asks get-ticket-availability the first time a category is seen, then never again', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'first' });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 'evt-1', categoryId: 'cat-a', quantity: 2 }));
    expect(lock).toMatchObject({ eventId: 'evt-1', categoryId: 'cat-a', quantity: 2, status: 'ACTIVE' });
    expect(availabilityAsked('evt-1', 'cat-a')).toBe(1);

    const { socket: second } = await connect(app.socketUrl, { userId: 'second' });
    ok(await request(second, 'lock-tickets', { eventId: 'evt-1', categoryId: 'cat-a', quantity: 1 }));
    expect(availabilityAsked('evt-1', 'cat-a')).toBe(1);

    // A restarted (or another) instance on the same Redis finds the capacity there.
    await app.close();
    app = await start();
    const { socket: third } = await connect(app.socketUrl, { userId: 'third' });
    ok(await request(third, 'lock-tickets', { eventId: 'evt-1', categoryId: 'cat-a', quantity: 1 }));
    expect(availabilityAsked('evt-1', 'cat-a')).toBe(1);
    const room = ok(await request(third, 'join-event-room', { eventId: 'evt-1' }));
    expect(room.availability.find((a) => a.categoryId === 'cat-a')).toMatchObject({ totalTickets: 1000, lockedTickets: 4, availableTickets: 996 });
  });

  it('asks once for a burst of 50 concurrent first locks of one category', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, (_, i) => connect(app.socketUrl, { userId: `burst-${i}` })));
    const answers = await Promise.all(sockets.map(({ socket }) => request(socket, 'lock-tickets', { eventId: 'evt-burst', categoryId: 'floor', quantity: 2 })));
    expect(answers.filter((a) => a.success)).toHaveLength(50);
    expect(availabilityAsked('evt-burst', 'floor')).toBe(1);
    expect(categoriesAsked('evt-burst')).toBe(0);
    const room = ok(await request(sockets[0]!.socket, 'join-event-room', { eventId: 'evt-burst' }));
    expect(room.availability).toEqual([expect.objectContaining({ categoryId: 'floor', totalTickets: 1000, lockedTickets: 100 })]);
  });

  it('maps null to EVENT_NOT_FOUND, or CATEGORY_NOT_FOUND when the event exists', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'nulls' });
    expect(await request(socket, 'lock-tickets', { eventId: 'no-such-event', categoryId: 'x', quantity: 1 })).toEqual({
      success: false,
      code: 'EVENT_NOT_FOUND',
      message: anyString(),
    });
    expect(await request(socket, 'lock-tickets', { eventId: 'evt-1', categoryId: 'no-such-category', quantity: 1 })).toEqual({
      success: false,
      code: 'CATEGORY_NOT_FOUND',
      message: anyString(),
    });
    expect(await request(socket, 'join-event-room', { eventId: 'no-such-event' })).toMatchObject({ success: false, code: 'EVENT_NOT_FOUND' });
  });

  it('answers EVENTS_UNAVAILABLE when the Events service does not answer within EVENTS_TIMEOUT_MS', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'waiting' });
    const started = Date.now();
    const answer = await request(socket, 'lock-tickets', { eventId: 'silent', categoryId: 'x', quantity: 1 });
    const elapsed = Date.now() - started;
    expect(answer).toEqual({ success: false, code: 'EVENTS_UNAVAILABLE', message: anyString() });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
    expect(availabilityAsked('silent')).toBe(1);
    // Not remembered: the next request asks again.
    expect(await request(socket, 'lock-tickets', { eventId: 'silent', categoryId: 'x', quantity: 1 })).toMatchObject({ code: 'EVENTS_UNAVAILABLE' });
    expect(availabilityAsked('silent')).toBe(2);
  });

  it('joining a room of an unknown event asks get-ticket-categories once and lists every category', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'joiner' });
    const { socket: other } = await connect(app.socketUrl, { userId: 'joiner-2' });
    const [first, second] = await Promise.all([
      request(socket, 'join-event-room', { eventId: 'evt-room' }),
      request(other, 'join-event-room', { eventId: 'evt-room' }),
    ]);
    for (const joined of [ok(first), ok(second)]) {
      expect(joined.availability.map((a) => [a.categoryId, a.totalTickets, a.availableTickets])).toEqual([
        ['front', 30, 30],
        ['back', 70, 70],
      ]);
    }
    expect(categoriesAsked('evt-room')).toBe(1);
    // Its categories are known now: locking one asks nothing more.
    ok(await request(socket, 'lock-tickets', { eventId: 'evt-room', categoryId: 'back', quantity: 3 }));
    expect(availabilityAsked('evt-room')).toBe(0);
  });

  it('accepts the original events-service\'s entity shape: reservedSeats are sold', async () => {
    const { socket } = await connect(app.socketUrl, { userId: 'entities' });
    const joined = ok(await request(socket, 'join-event-room', { eventId: 'evt-entities' }));
    expect(joined.availability.map((a) => [a.categoryId, a.soldTickets, a.availableTickets])).toEqual([
      [31, 4, 6],
      [32, 0, 20],
    ]);
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 'evt-entities', categoryId: 31, quantity: 2 }));
    expect(lock).toMatchObject({ categoryId: 31, quantity: 2, availableTickets: 4 });
    const room = ok(await request(socket, 'join-event-room', { eventId: 'evt-entities' }));
    expect(room.availability.map((a) => [a.categoryId, a.totalTickets, a.soldTickets, a.lockedTickets, a.availableTickets])).toEqual([
      [31, 10, 4, 2, 4],
      [32, 20, 0, 0, 20],
    ]);
  });
});
