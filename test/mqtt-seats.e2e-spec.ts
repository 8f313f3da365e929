import type { MqttClient } from 'mqtt';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MqttBridge } from '../apps/realtime/src/mqtt/mqtt-bridge.js';
import { connect, ok, request, sleep } from './support/clients.js';
import { MQTT_USERS, browserClient, record, startBroker, subscribe, waitFor, type TestBroker } from './support/mosquitto.js';
import { useRmqApp } from './support/rmq-app.js';

/** A reserved event for the seat topics and booking requests (CONTRACT §6 catalog seats), and a general-admission one. */
const SEAT_CATALOG = {
  events: [
    {
      id: 7,
      name: 'Cinema 7',
      categories: [
        {
          categoryId: 'stalls',
          totalTickets: 7,
          seats: { rows: [{ row: 'A', seats: ['A1', 'A2', 'A3', 'A4'] }, { row: 'B', seats: ['B1', 'B2', 'B3', 'B4'] }], blocked: ['B4'] },
        },
        { categoryId: 'standing', totalTickets: 50 },
      ],
    },
  ],
};

/** Seat topics and booking requests over MQTT, with the project's ACL. */
describe('MQTT bridge: seats and booking requests', () => {
  const env: Record<string, string | undefined> = { MQTT_ACCEPT_REQUESTS: 'true' };
  let broker: TestBroker;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    broker = await startBroker();
    // Read by useRmqApp's beforeAll, which runs after this one.
    env.MQTT_URL = broker.serviceUrl;
  });
  const t = useRmqApp('mqtt', { orders: true, catalog: SEAT_CATALOG, env });
  beforeAll(async () => {
    await until(() => t.app.app.get(MqttBridge).leading);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync()));
  });
  afterAll(async () => {
    await broker?.close();
  });

  const send = <T>(pattern: string, data: unknown): Promise<T> => firstValueFrom(t.orders.client.send<T>(pattern, data));
  /** A logged-in buyer (MQTT 5, so the broker says when the ACL refuses a publish). */
  const buyer = (username: 'alice' | 'bob') => browserClient(broker, { username, password: MQTT_USERS[username], protocolVersion: 5 });
  const seatMap = async (): Promise<unknown> => (await fetch(`${t.app.baseUrl}/events/7/seats`)).json();

  it('seats/status per seat change and the retained seats/snapshot follow holds made on a socket', async () => {
    const browser = await browserClient(broker);
    clients.push(browser);
    const seen = record(browser);
    await subscribe(browser, 'seats/#');
    const { socket } = await connect(t.app.socketUrl, { userId: 'seat-socket' });
    const heldAt = Date.now();
    const lock = ok(await request(socket, 'hold-seats', { eventId: 7, seatIds: ['A1', 'A2'] }));
    const status = await waitFor(seen, (m) => m.topic === 'seats/status/7' && m.body.seat_id === 'A2' && m.body.status === 'reserved', 1000);
    expect(status.at - heldAt).toBeLessThan(1000);
    expect(status.body).toMatchObject({ showing_id: 7, seat_id: 'A2', status: 'reserved' });
    expect(typeof status.body.version).toBe('number');
    const snapshot = await waitFor(seen, (m) => m.topic === 'seats/snapshot/7' && (m.body.seats as Record<string, string>).A1 === 'reserved', 2000);
    expect(snapshot.body.seats).toEqual({ A1: 'reserved', A2: 'reserved', B4: 'blocked' });
    ok(await request(socket, 'unlock-tickets', { lockId: lock.lockId }));
    await waitFor(seen, (m) => m.topic === 'seats/status/7' && m.body.seat_id === 'A1' && m.body.status === 'available', 1000);
    await waitFor(seen, (m) => m.topic === 'seats/snapshot/7' && JSON.stringify(m.body.seats) === JSON.stringify({ B4: 'blocked' }), 2500);
  });

  it("booking/request holds the seats for the topic's user; another user_id is refused; the ACL denies another user's topic", async () => {
    const alice = await buyer('alice');
    clients.push(alice);
    const answers = record(alice);
    await subscribe(alice, 'booking/hold/alice');
    const first = { user_id: 'alice', showing_id: 7, seat_ids: ['A3', 'A4'], timestamp: new Date().toISOString(), request_id: 'req-1' };
    await alice.publishAsync('booking/request/alice', JSON.stringify(first), { qos: 1 });
    const held = await waitFor(answers, (m) => m.body.request_id === 'req-1', 2000);
    expect(held.body).toMatchObject({ status: 'held', seat_ids: ['A3', 'A4'] });
    expect(typeof held.body.lock_id).toBe('string');
    expect(typeof held.body.expires_at).toBe('string');
    const lock = await send<{ userId: string; seats: string[]; status: string }>('get-ticket-lock', { lockId: held.body.lock_id });
    expect(lock).toMatchObject({ userId: 'alice', seats: ['A3', 'A4'], status: 'ACTIVE' });

    // Someone else's user_id in alice's own topic: refused, nothing held.
    const before = await seatMap();
    await alice.publishAsync('booking/request/alice', JSON.stringify({ user_id: 'bob', showing_id: 7, seat_ids: ['B1'], timestamp: '', request_id: 'req-2' }), { qos: 1 });
    expect((await waitFor(answers, (m) => m.body.request_id === 'req-2', 2000)).body).toMatchObject({ status: 'failed', code: 'FORBIDDEN', seat_ids: ['B1'] });
    expect(await seatMap()).toEqual(before);

    // Bob's topic from alice's login: the broker refuses it (MQTT 5 PUBACK "not authorized"), the service never sees it.
    const bob = await buyer('bob');
    clients.push(bob);
    const bobAnswers = record(bob);
    await subscribe(bob, 'booking/hold/bob');
    const forged = { user_id: 'bob', showing_id: 7, seat_ids: ['B2'], timestamp: '', request_id: 'req-3' };
    await expect(alice.publishAsync('booking/request/bob', JSON.stringify(forged), { qos: 1 })).rejects.toThrow();
    await sleep(500);
    expect(bobAnswers).toEqual([]);
    expect(await seatMap()).toEqual(before);

    // Seats already taken: failed, naming exactly those seats.
    await bob.publishAsync('booking/request/bob', JSON.stringify({ user_id: 'bob', showing_id: 7, seat_ids: ['A4', 'B1'], timestamp: '', request_id: 'req-4' }), { qos: 1 });
    expect((await waitFor(bobAnswers, (m) => m.body.request_id === 'req-4', 2000)).body).toMatchObject({ status: 'failed', code: 'SEATS_UNAVAILABLE', seat_ids: ['A4'] });
  });

  it('bad JSON on the request topic is ignored and changes nothing', async () => {
    const alice = await buyer('alice');
    clients.push(alice);
    const answers = record(alice);
    await subscribe(alice, 'booking/hold/alice');
    const before = await seatMap();
    await alice.publishAsync('booking/request/alice', '{"user_id": "alice", "showing_id": 7, "seat_ids": ["B1"', { qos: 1 });
    await alice.publishAsync('booking/request/alice', 'not json at all', { qos: 1 });
    await sleep(700);
    expect(answers).toEqual([]);
    expect(await seatMap()).toEqual(before);
    // The subscription still works afterwards.
    await alice.publishAsync('booking/request/alice', JSON.stringify({ user_id: 'alice', showing_id: 7, seat_ids: ['Z9'], timestamp: '', request_id: 'req-5' }), { qos: 1 });
    expect((await waitFor(answers, (m) => m.body.request_id === 'req-5', 2000)).body).toMatchObject({ status: 'failed', code: 'SEAT_NOT_FOUND' });
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}
