import { Logger } from '@nestjs/common';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Availability, LockChanges, SeatDelta } from '#lock-domain';
import type { LeaderLease } from './leader-lease.js';
import type { MqttLink } from './mqtt-link.js';
import { matches } from './mqtt-link.js';
import { MqttStatePublisher, type MqttStateSource, type QueueProgress, type SeatStatuses } from './mqtt-state.publisher.js';
import { bookingId, mqttSeatStatus } from './mqtt-topics.js';
import { Throttle } from './throttle.js';

const counts = (categoryId: number, version: number, locked = version): Availability => ({
  eventId: 1,
  categoryId,
  totalTickets: 100,
  availableTickets: 100 - locked,
  lockedTickets: locked,
  soldTickets: 0,
  version,
  timestamp: new Date(0).toISOString(),
});

const changes = (availability: Availability[], seats?: SeatDelta[]): LockChanges => ({ now: 0, transitions: [], availability, ...(seats ? { seats } : {}) });

interface Sent {
  topic: string;
  payload: Record<string, unknown>;
  retain: boolean;
}

beforeAll(() => Logger.overrideLogger(false));

describe('MqttStatePublisher', () => {
  let sent: Sent[];
  let connected: boolean;
  let held: boolean;
  let store: { categories: Availability[]; seats: SeatStatuses | null; queues: QueueProgress[] };
  let publisher: MqttStatePublisher;
  const dropState = vi.fn();

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    sent = [];
    connected = true;
    held = true;
    store = { categories: [counts(1, 1, 0), counts(2, 1, 0)], seats: null, queues: [] };
    const link = {
      get connected() {
        return connected;
      },
      send: (topic: string, payload: unknown, options: { retain?: boolean } = {}) =>
        sent.push({ topic, payload: payload as Record<string, unknown>, retain: options.retain ?? false }),
      dropState,
    } as unknown as MqttLink;
    const source: MqttStateSource = {
      events: async () => [{ eventId: 1, availability: store.categories, reserved: store.seats !== null }],
      eventAvailability: async () => store.categories,
      seatStatuses: async () => store.seats,
      queues: async () => store.queues,
    };
    const lease: LeaderLease = { hold: async () => held, drop: async () => undefined };
    publisher = new MqttStatePublisher({ link, source, lease, feed: null, owner: 'me', broadcastIntervalMs: 100, now: () => Date.now() });
  });
  afterEach(async () => {
    await publisher.stop();
    vi.useRealTimers();
  });

  it('takes the lease, republishes the retained state from the store, then coalesces changes per event', async () => {
    publisher.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(publisher.isLeading).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 'showing/update/1', payload: { showing_id: 1, version: 2 }, retain: true });

    // A burst inside one interval: the first at once was the resync; the last carries the final counts.
    publisher.offer(changes([counts(1, 2)]));
    publisher.offer(changes([counts(1, 3)]));
    publisher.offer(changes([counts(2, 2)]));
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.payload).toMatchObject({ version: 5, categories: [counts(1, 3), counts(2, 2)] });
  });

  it('never publishes older counts than it did: a late change is dropped', async () => {
    publisher.start();
    await vi.advanceTimersByTimeAsync(0);
    publisher.offer(changes([counts(1, 5)]));
    await vi.advanceTimersByTimeAsync(200);
    publisher.offer(changes([counts(1, 4)]));
    await vi.advanceTimersByTimeAsync(200);
    const versions = sent.map((m) => m.payload.version as number);
    expect(versions).toEqual([2, 6]);
  });

  it('publishes nothing without the lease, and steps down (dropping queued state) when the link goes', async () => {
    held = false;
    publisher.start();
    await vi.advanceTimersByTimeAsync(0);
    publisher.offer(changes([counts(1, 2)]));
    await vi.advanceTimersByTimeAsync(500);
    expect(publisher.isLeading).toBe(false);
    expect(sent).toEqual([]);

    held = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(publisher.isLeading).toBe(true);
    connected = false;
    publisher.linkDown();
    expect(publisher.isLeading).toBe(false);
    expect(dropState).toHaveBeenCalled();
  });

  it('seats: one seats/status per change (held → reserved, sold → booked), never older per seat, and a snapshot at most once a second', async () => {
    store.seats = { version: 1, seats: [{ seatId: 'A1', status: 'available' }, { seatId: 'A2', status: 'blocked' }] };
    publisher.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.filter((m) => m.topic === 'seats/snapshot/1').map((m) => m.payload)).toEqual([{ showing_id: 1, version: 1, seats: { A2: 'blocked' } }]);

    store.seats = { version: 3, seats: [{ seatId: 'A1', status: 'sold' }, { seatId: 'A2', status: 'blocked' }] };
    publisher.offer(changes([], [{ eventId: 1, fromVersion: 2, version: 3, changes: [{ seatId: 'A1', categoryId: 1, status: 'sold' }] }]));
    publisher.offer(changes([], [{ eventId: 1, fromVersion: 1, version: 2, changes: [{ seatId: 'A1', categoryId: 1, status: 'held' }] }]));
    const statuses = sent.filter((m) => m.topic === 'seats/status/1').map((m) => m.payload);
    expect(statuses).toEqual([expect.objectContaining({ seat_id: 'A1', status: 'booked', version: 3, showing_id: 1 })]);
    await vi.advanceTimersByTimeAsync(999);
    expect(sent.filter((m) => m.topic === 'seats/snapshot/1')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent.filter((m) => m.topic === 'seats/snapshot/1').at(-1)?.payload).toEqual({ showing_id: 1, version: 3, seats: { A1: 'booked', A2: 'blocked' } });
  });

  it('queue/position: retained, published when a room moved, read once a second while leading', async () => {
    store.queues = [{ eventId: 'sale', servingPosition: 0, queueLength: 3, version: 1 }];
    publisher.start();
    await vi.advanceTimersByTimeAsync(0);
    const positions = () => sent.filter((m) => m.topic === 'queue/position/sale');
    expect(positions()).toEqual([{ topic: 'queue/position/sale', payload: expect.objectContaining({ event_id: 'sale', serving_position: 0, queue_length: 3 }) as unknown, retain: true }]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(positions()).toHaveLength(1);
    store.queues = [{ eventId: 'sale', servingPosition: 2, queueLength: 3, version: 2 }];
    await vi.advanceTimersByTimeAsync(1000);
    expect(positions().at(-1)?.payload).toMatchObject({ serving_position: 2, queue_length: 3 });
  });
});

describe('MQTT helpers', () => {
  it('topic filters, seed 003 statuses and booking ids', () => {
    expect(matches('booking/request/+', 'booking/request/alice')).toBe(true);
    expect(matches('booking/request/+', 'booking/request/alice/x')).toBe(false);
    expect(matches('seats/#', 'seats/status/1')).toBe(true);
    expect(mqttSeatStatus('held')).toBe('reserved');
    expect(mqttSeatStatus('sold')).toBe('booked');
    expect(bookingId('lock-1', 'order-7')).toBe('order-7');
    expect(bookingId('lock-1', undefined)).toBe('lock-1');
    expect(bookingId('lock-1', 'a/b')).toBe('lock-1');
    expect(bookingId('lock-1', '#')).toBe('lock-1');
  });

  it('Throttle runs the first touch at once and folds the rest into one run per interval', () => {
    vi.useFakeTimers({ now: 0 });
    const runs: number[] = [];
    const throttle = new Throttle({ intervalMs: 100, run: () => runs.push(Date.now()), now: () => Date.now() });
    throttle.touch('k');
    throttle.touch('k');
    throttle.touch('k');
    vi.advanceTimersByTime(250);
    throttle.touch('k');
    expect(runs).toEqual([0, 100, 250]);
    throttle.clear();
    vi.useRealTimers();
  });
});
