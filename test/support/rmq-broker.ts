import type { LoggerService } from '@nestjs/common';
import { ClientsModule, Transport, type ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import type { LockEventMessage } from '#contracts';
import { TEST_RABBITMQ_URL, uniqueName } from './services.js';

/** Unique queue and exchange names for one test file, so parallel runs never share a queue. */
export function rmqNames(base: string): { realtimeQueue: string; eventsQueue: string; exchange: string } {
  const id = uniqueName(base);
  return { realtimeQueue: `${id}.realtime`, eventsQueue: `${id}.events`, exchange: `${id}.ticket_locks` };
}

/** The environment that points an e2e app at RabbitMQ with those names. */
export function rmqEnv(names: ReturnType<typeof rmqNames>, url = TEST_RABBITMQ_URL): Record<string, string> {
  return { RABBITMQ_URL: url, REALTIME_QUEUE: names.realtimeQueue, EVENTS_QUEUE: names.eventsQueue, LOCK_EVENTS_EXCHANGE: names.exchange };
}

const SILENT: LoggerService = { log: () => undefined, error: () => undefined, warn: () => undefined };

/** An Orders-style Nest RMQ client and how to close it. */
export interface OrdersClient {
  client: ClientProxy;
  close(): Promise<void>;
}

/**
 * An Orders-style client, built the way a Nest service does it: `ClientsModule.register` with
 * `Transport.RMQ` on the realtime queue (asserted `durable: true`, like the service declares it).
 */
export async function ordersClient(queue: string): Promise<OrdersClient> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClientsModule.register([
        { name: 'REALTIME_SERVICE', transport: Transport.RMQ, options: { urls: [TEST_RABBITMQ_URL], queue, queueOptions: { durable: true } } },
      ]),
    ],
  })
    // The testing module would install its own global logger and un-silence the app under test.
    .setLogger(SILENT)
    .compile();
  const client = moduleRef.get<ClientProxy>('REALTIME_SERVICE');
  await client.connect();
  return {
    client,
    async close() {
      await client.close();
      await moduleRef.close();
    },
  };
}

/** A lifecycle event as a bound consumer receives it. */
export interface ReceivedLockEvent {
  routingKey: string;
  messageId: string;
  persistent: boolean;
  contentType: string | undefined;
  body: LockEventMessage;
}

/** A message read back from a queue (e.g. the dead-letter queue). */
export interface RawMessage {
  content: string;
  headers: Record<string, unknown>;
  properties: ConsumeMessage['properties'];
}

/**
 * A direct connection to the test broker for what the tests do by hand: raw publishes, reading the
 * dead-letter queue, binding a queue to the lifecycle exchange. Deletes what it touched on close().
 */
export class TestBroker {
  private readonly queues = new Set<string>();
  private readonly exchanges = new Set<string>();

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
  ) {}

  static async open(url = TEST_RABBITMQ_URL): Promise<TestBroker> {
    const connection = await connect(url);
    const channel = await connection.createConfirmChannel();
    return new TestBroker(connection, channel);
  }

  /** Opened, and tracking what a service with these names declares: its queue, dead-letter queue and exchange. */
  static async forService(names: ReturnType<typeof rmqNames>): Promise<TestBroker> {
    const broker = await TestBroker.open();
    broker.trackRealtimeQueue(names.realtimeQueue);
    broker.trackExchange(names.exchange);
    return broker;
  }

  get rawChannel(): ConfirmChannel {
    return this.channel;
  }

  /** Deleted on close() (queues the service declared, too). */
  track(queue: string): void {
    this.queues.add(queue);
  }

  /** A service's `REALTIME_QUEUE` and the dead-letter and retry queues it declares beside it. */
  trackRealtimeQueue(queue: string): void {
    this.track(queue);
    this.track(`${queue}.dead-letter`);
    this.track(`${queue}.retry`);
  }

  trackExchange(exchange: string): void {
    this.exchanges.add(exchange);
  }

  /** Publishes any bytes to a queue, publisher-confirmed. */
  async publishRaw(queue: string, content: string | Buffer, options: Options.Publish = {}): Promise<void> {
    this.channel.sendToQueue(queue, Buffer.isBuffer(content) ? content : Buffer.from(content), options);
    await this.channel.waitForConfirms();
  }

  /** Collects every lifecycle event routed to a fresh queue bound to `exchange` with `bindingKey`. */
  async bindLockEvents(exchange: string, bindingKey = 'ticket-lock.*'): Promise<ReceivedLockEvent[]> {
    this.trackExchange(exchange);
    // The same declaration as the service's relay, so either side may come first.
    await this.channel.assertExchange(exchange, 'topic', { durable: true });
    const queue = `${exchange}.orders-${Math.random().toString(36).slice(2, 8)}`;
    this.track(queue);
    await this.channel.assertQueue(queue, { durable: true });
    await this.channel.bindQueue(queue, exchange, bindingKey);
    const received: ReceivedLockEvent[] = [];
    await this.channel.consume(queue, (message) => {
      if (!message) return;
      received.push({
        routingKey: message.fields.routingKey,
        messageId: String(message.properties.messageId),
        persistent: message.properties.deliveryMode === 2,
        contentType: message.properties.contentType as string | undefined,
        body: JSON.parse(message.content.toString('utf8')) as LockEventMessage,
      });
      this.channel.ack(message);
    });
    return received;
  }

  /** Waits until `queue` holds at least `count` messages, then takes them all (acked). */
  async take(queue: string, count: number, timeoutMs = 10_000): Promise<RawMessage[]> {
    const taken: RawMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (taken.length < count) {
      const message = await this.channel.get(queue, { noAck: true });
      if (message) {
        taken.push({ content: message.content.toString('utf8'), headers: { ...message.properties.headers }, properties: message.properties });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`only ${taken.length} of ${count} message(s) arrived in ${queue}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return taken;
  }

  async messageCount(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /** Deletes every queue and exchange this test touched, then disconnects. */
  async close(): Promise<void> {
    for (const queue of this.queues) await this.channel.deleteQueue(queue).catch(() => undefined);
    for (const exchange of this.exchanges) await this.channel.deleteExchange(exchange).catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}

/** Returned by a fake Events handler to leave a request unanswered. */
export const NO_REPLY = Symbol('NO_REPLY');

export type FakeEventsHandler = (pattern: string, data: Record<string, unknown>) => unknown;

/**
 * A stand-in for the Events service: consumes its queue like a Nest RMQ server and answers
 * `{ id, response, isDisposed }` to `replyTo` with the request's `correlationId`.
 */
export class FakeEventsService {
  readonly requests: Array<{ pattern: string; data: Record<string, unknown> }> = [];

  private constructor(private readonly connection: ChannelModel) {}

  static async start(queue: string, handler: FakeEventsHandler, url = TEST_RABBITMQ_URL): Promise<FakeEventsService> {
    const connection = await connect(url);
    const service = new FakeEventsService(connection);
    const channel = await connection.createChannel();
    // How a Nest Events service declares its queue.
    await channel.assertQueue(queue, { durable: true });
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        const { pattern, data, id } = JSON.parse(message.content.toString('utf8')) as { pattern: string; data: Record<string, unknown>; id?: string };
        service.requests.push({ pattern, data });
        const response = handler(pattern, data);
        if (response !== NO_REPLY && message.properties.replyTo) {
          channel.sendToQueue(message.properties.replyTo as string, Buffer.from(JSON.stringify({ id, response, isDisposed: true })), {
            correlationId: message.properties.correlationId as string,
          });
        }
      },
      { noAck: true },
    );
    return service;
  }

  /** How many requests of `pattern` matched `where`. */
  count(pattern: string, where: (data: Record<string, unknown>) => boolean = () => true): number {
    return this.requests.filter((request) => request.pattern === pattern && where(request.data)).length;
  }

  async stop(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

/** Polls until `check` holds (or fails with `what` after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
