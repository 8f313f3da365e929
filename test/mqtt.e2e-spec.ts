import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Availability } from '#lock-domain';
import { MqttBridge } from '../apps/realtime/src/mqtt/mqtt-bridge.js';
import { dropKeys, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, ok, request } from './support/clients.js';
import { browserClient, record, startBroker, subscribe, waitFor, type TestBroker } from './support/mosquitto.js';
import { uniqueName } from './support/services.js';

interface ShowingBody {
  showing_id: number | string;
  version: number;
  categories: Availability[];
  timestamp: string;
}

/** Seed 003's frontends over MQTT-over-WebSocket, against two instances sharing Redis. */
describe('MQTT bridge: state topics from every instance', () => {
  const prefix = uniqueName('e2e-mqtt');
  let broker: TestBroker;
  let a: TestApp;
  let b: TestApp;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startBroker();
    const env = { REDIS_KEY_PREFIX: prefix, MQTT_URL: broker.serviceUrl };
    [a, b] = [await startApp({ env }), await startApp({ env })];
    // One of the two holds the publisher lease (before the first change, so nothing is missed).
    await until(() => [a, b].some((app) => app.app.get(MqttBridge).leading));
  });
  afterEach(async () => {
    closeAll();
    await Promise.all(clients.splice(0).map((client) => client.endAsync()));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await broker?.close();
    await dropKeys(prefix);
  });

  it('a WebSocket subscriber sees showing/update within 1 s of holds made on either instance; one publisher only', async () => {
    const browser = await browserClient(broker);
    clients.push(browser);
    await subscribe(browser, 'showing/update/#');
    const seen = record(browser);
    const { socket: onA } = await connect(a.socketUrl, { userId: 'mqtt-buyer-a' });
    const { socket: onB } = await connect(b.socketUrl, { userId: 'mqtt-buyer-b' });

    const heldAtA = Date.now();
    ok(await request(onA, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 3 }));
    const first = await waitFor(seen, (m) => counts(m.body, 2)?.lockedTickets === 3, 1000);
    expect(first.at - heldAtA).toBeLessThan(1000);
    expect(first.retain).toBe(false); // live delivery to a subscriber; the broker keeps the retained copy
    expect(first.topic).toBe('showing/update/1');

    const heldAtB = Date.now();
    ok(await request(onB, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 4 }));
    const second = await waitFor(seen, (m) => counts(m.body, 2)?.lockedTickets === 7, 1000);
    expect(second.at - heldAtB).toBeLessThan(1000);
    const body = second.body as unknown as ShowingBody;
    expect(body.showing_id).toBe(1);
    // Every category of the event, not only the one that changed.
    expect(body.categories.map((c) => c.categoryId).sort()).toEqual([1, 2, 3]);
    expect(counts(body, 2)).toMatchObject({ totalTickets: 100, availableTickets: 93, lockedTickets: 7, soldTickets: 0 });
    expect(body.version).toBeGreaterThan((first.body as unknown as ShowingBody).version);

    // Published once per change by one instance, never twice with the same version.
    await sleep(300);
    const versions = seen.map((m) => (m.body as unknown as ShowingBody).version);
    expect(new Set(versions).size).toBe(versions.length);
    expect([...versions].sort((x, y) => x - y)).toEqual(versions);
  });

  it('a late subscriber gets the retained latest state at once', async () => {
    const { socket } = await connect(b.socketUrl, { userId: 'mqtt-late' });
    ok(await request(socket, 'lock-tickets', { eventId: 'fest-2027', categoryId: 'early-bird', quantity: 2 }));
    await sleep(300);
    const late = await browserClient(broker);
    clients.push(late);
    const seen = record(late);
    await subscribe(late, 'showing/update/fest-2027');
    const retained = await waitFor(seen, () => true, 1000);
    expect(retained.retain).toBe(true);
    expect(counts(retained.body, 'early-bird')).toMatchObject({ availableTickets: 18, lockedTickets: 2 });
  });
});

function counts(body: object, categoryId: number | string): Availability | undefined {
  return (body as unknown as ShowingBody).categories.find((c) => c.categoryId === categoryId);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}
