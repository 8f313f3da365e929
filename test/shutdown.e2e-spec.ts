import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Answer, LockTicketsResult } from '#contracts';
import { LockService } from '../apps/realtime/src/locks/lock.service.js';
import { REQUEST_DRAIN_MS, SHUTDOWN_DEADLINE_MS } from '../apps/realtime/src/shutdown/graceful-shutdown.service.js';
import { dropKeys, startApp, type TestApp } from './support/app.js';
import { startChild, type ChildExit, type ChildService } from './support/child-service.js';
import { signToken } from './support/clients.js';
import { TestBroker, eventually, rmqEnv, rmqNames } from './support/rmq-broker.js';
import { TEST_RABBITMQ_URL, uniqueName } from './support/services.js';
import { TcpProxy } from './support/tcp-proxy.js';

/** Load clients in a closed loop (lock, lock, …, each a lock of its own) and clients with one slow request each. */
const LOAD_CLIENTS = 24;
const SLOW_CLIENTS = 8;
/** The fake Events service answers the slow event's questions this late: those requests are surely in flight at SIGTERM. */
const SLOW_EVENTS_MS = 1500;

/**
 * A stand-in for the Events service on `EVENTS_QUEUE`: every category exists with 100,000 tickets;
 * questions about event `slow` are answered after {@link SLOW_EVENTS_MS}.
 */
async function startEventsService(queue: string): Promise<{ slowAsked: () => number; stop(): Promise<void> }> {
  const connection: ChannelModel = await amqpConnect(TEST_RABBITMQ_URL);
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: true });
  let slowAsked = 0;
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      const { pattern, data, id } = JSON.parse(message.content.toString('utf8')) as { pattern: string; data: { eventId: unknown; categoryId?: unknown }; id?: string };
      // No reserved categories here (asked beside the categories, CONTRACT §6).
      if (pattern === 'get-seat-map') {
        const reply = { id, response: { eventId: data.eventId, categories: [] }, isDisposed: true };
        channel.sendToQueue(String(message.properties.replyTo), Buffer.from(JSON.stringify(reply)), { correlationId: String(message.properties.correlationId) });
        return;
      }
      const category = { categoryId: data.categoryId, totalTickets: 100_000, availableTickets: 100_000 };
      const response = pattern === 'get-ticket-availability' ? { eventId: data.eventId, ...category } : [{ ...category, categoryId: 'main' }];
      const slow = data.eventId === 'slow';
      if (slow) slowAsked += 1;
      setTimeout(
        () => {
          channel.sendToQueue(String(message.properties.replyTo), Buffer.from(JSON.stringify({ id, response, isDisposed: true })), {
            correlationId: String(message.properties.correlationId),
          });
        },
        slow ? SLOW_EVENTS_MS : 0,
      );
    },
    { noAck: true },
  );
  return { slowAsked: () => slowAsked, stop: () => connection.close().catch(() => undefined) };
}

type Untyped = Socket;

/** A socket.io-client the way an application would configure one: reconnects by itself, retries unanswered requests. */
async function reconnectingClient(url: string, userId: string): Promise<{ socket: Untyped; reasons: string[]; reconnects: () => number }> {
  const socket: Untyped = io(url, {
    forceNew: true,
    transports: ['websocket'],
    auth: { token: await signToken(userId) },
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    // A request the server never received (sent while its transport was closing) is sent again after
    // the reconnection; `requestId` makes the repeat harmless.
    retries: 5,
    ackTimeout: 10_000,
  });
  const reasons: string[] = [];
  let reconnects = 0;
  socket.on('disconnect', (reason) => reasons.push(reason));
  socket.io.on('reconnect', () => (reconnects += 1));
  await new Promise<void>((resolve, reject) => {
    socket.once('connected', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, reasons, reconnects: () => reconnects };
}

interface Outcome {
  requestId: string;
  answer?: Answer<LockTicketsResult>;
  error?: string;
  /** Whether the answer came before the client's first disconnection (i.e. from the instance that shut down). */
  beforeDisconnect: boolean;
}

describe('SIGTERM during load', () => {
  const names = rmqNames('shutdown');
  const prefix = uniqueName('e2e-shutdown');
  const env = {
    ...rmqEnv(names),
    REDIS_KEY_PREFIX: prefix,
    EVENTS_SOURCE: 'rabbitmq',
    RATE_LIMIT_PER_MINUTE: '0',
    MAX_ACTIVE_LOCKS_PER_USER: '1000',
    // Released at once on a disconnection, if the shutdown let the grace run: any release would show.
    DISCONNECT_GRACE_SECONDS: '0',
  };
  let broker: TestBroker;
  let events: Awaited<ReturnType<typeof startEventsService>>;
  let child: ChildService;
  let other: TestApp;
  let balancer: TcpProxy;
  const sockets: Untyped[] = [];

  beforeAll(async () => {
    broker = await TestBroker.forService(names);
    broker.track(names.eventsQueue);
    events = await startEventsService(names.eventsQueue);
    child = await startChild({ env });
    other = await startApp({ env });
    // The load balancer in front of the instances: all clients start on the child.
    balancer = await new TcpProxy('127.0.0.1', child.port).start();
  }, 45_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await child?.stop('SIGKILL', 2000);
    await other?.close();
    await balancer?.stop();
    await events?.stop();
    await broker?.close();
    await dropKeys(prefix);
  });

  it('answers every request in flight, tells clients to reconnect, exits 0 in time and keeps every lock', async () => {
    const url = `http://127.0.0.1:${balancer.port}/realtime`;
    const load = await Promise.all(Array.from({ length: LOAD_CLIENTS }, (_, i) => reconnectingClient(url, `load-${i}`)));
    const slow = await Promise.all(Array.from({ length: SLOW_CLIENTS }, (_, i) => reconnectingClient(url, `slow-${i}`)));
    sockets.push(...[...load, ...slow].map((client) => client.socket));

    const outcomes = new Map<string, Outcome[]>();
    const send = async (client: { socket: Untyped; reasons: string[] }, userId: string, requestId: string, eventId: string, categoryId: string) => {
      const outcome: Outcome = { requestId, beforeDisconnect: false };
      outcomes.set(userId, [...(outcomes.get(userId) ?? []), outcome]);
      try {
        outcome.answer = (await client.socket.emitWithAck('lock-tickets', { eventId, categoryId, quantity: 1, requestId })) as Answer<LockTicketsResult>;
        outcome.beforeDisconnect = client.reasons.length === 0;
      } catch (error) {
        outcome.error = error instanceof Error ? error.message : String(error);
      }
    };

    let running = true;
    const loops = load.map(async (client, i) => {
      // One lock per user and category: each request takes the next category (the Events service is
      // asked about each category once, by whichever request comes first).
      for (let n = 0; running; n += 1) await send(client, `load-${i}`, `load-${i}-${n}`, 'load', `c-${n}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // Requests that wait for the (slow) Events service: in flight inside the child when SIGTERM comes.
    const slowRequests = slow.map((client, i) => send(client, `slow-${i}`, `slow-${i}`, 'slow', `s-${i}`));
    await eventually(() => events.slowAsked() === SLOW_CLIENTS, 'the slow requests to reach the Events service');

    // The load balancer takes the instance out (new connections go to the other one), then SIGTERM.
    balancer.retarget('127.0.0.1', (other.app.getHttpServer() as { address(): { port: number } }).address().port);
    const signalledAt = Date.now();
    child.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // New connections are refused while the child drains (the slow requests keep it draining).
    const refused = await fetch(`${child.baseUrl}/health`).then(
      () => false,
      () => true,
    );

    const exit: ChildExit = await child.stop('SIGTERM', SHUTDOWN_DEADLINE_MS + 5000);
    await Promise.all(slowRequests);
    await eventually(() => [...load, ...slow].every((client) => client.reconnects() >= 1 && client.socket.connected), 'every client to reconnect', 15_000);
    // Some more load on the instance the clients moved to, then stop.
    await new Promise((resolve) => setTimeout(resolve, 500));
    running = false;
    await Promise.all(loops);

    const all = [...outcomes.values()].flat();
    const failed = all.filter((o) => o.error !== undefined || !o.answer?.success);
    const drained = /drained in (\d+) ms: (\d+) socket\(s\) told to reconnect, (\d+) request\(s\) in flight at the start, (\d+) answered during the drain, (\d+) cut off/.exec(child.output());
    const [, drainMs, toldToReconnect, inflightAtStart, answeredDuringDrain, cut] = (drained ?? []).map(Number);
    const reasons = [...load, ...slow].flatMap((client) => client.reasons);
    console.log(
      `[shutdown] requests: ${all.length}, failed: ${failed.length}; in flight at SIGTERM: ${inflightAtStart}, answered during the drain: ${answeredDuringDrain}, ` +
        `cut: ${cut}; sockets told to reconnect: ${toldToReconnect}, drain ${drainMs} ms, exit ${exit.code} after ${exit.at - signalledAt} ms; ` +
        `disconnect reasons: ${[...new Set(reasons)].join(', ')}`,
    );

    expect(refused).toBe(true);
    // The process ended by itself, successfully, before the hard deadline.
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_DEADLINE_MS);
    // The drain: every request in flight answered, nothing cut off, every socket told to reconnect.
    expect(drained, child.output()).not.toBeNull();
    expect(inflightAtStart).toBeGreaterThanOrEqual(SLOW_CLIENTS);
    expect(answeredDuringDrain).toBeGreaterThanOrEqual(inflightAtStart!);
    expect(cut).toBe(0);
    expect(drainMs).toBeLessThan(REQUEST_DRAIN_MS);
    expect(toldToReconnect).toBe(LOAD_CLIENTS + SLOW_CLIENTS);
    // The slow requests were answered by the instance that shut down, before it let their sockets go.
    for (let i = 0; i < SLOW_CLIENTS; i += 1) expect(outcomes.get(`slow-${i}`)).toMatchObject([{ answer: { success: true }, beforeDisconnect: true }]);
    // A reason socket.io-client reconnects from (not `io server disconnect`), once per client.
    expect(reasons).toHaveLength(LOAD_CLIENTS + SLOW_CLIENTS);
    expect(reasons.filter((reason) => reason !== 'transport close' && reason !== 'transport error')).toEqual([]);
    // Every request got an answer (from one instance or, retried, from the other), all granted.
    expect(failed).toEqual([]);
    expect(all.filter((o) => !o.beforeDisconnect).length).toBeGreaterThan(0);

    // Every lock granted is still ACTIVE in Redis, and no other lock exists: none released, none doubled.
    const store = other.app.get(LockService);
    for (const [userId, list] of outcomes) {
      const granted = new Set(list.map((o) => (o.answer?.success ? o.answer.lockId : '')));
      const held = await store.myLocks(userId);
      expect(new Set(held.map((lock) => lock.lockId)), userId).toEqual(granted);
      expect(held.every((lock) => lock.status === 'ACTIVE')).toBe(true);
      expect(granted.size).toBe(list.length);
    }
  }, 60_000);
});
