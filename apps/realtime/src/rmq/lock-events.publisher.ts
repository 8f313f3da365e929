import { Inject, Injectable, Logger } from '@nestjs/common';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '#config';
import { RedisOutbox } from '#lock-store';
import { REDIS } from '../locks/lock-store.module.js';
import { LockChangesBus } from '../locks/lock-changes.js';
import { INSTANCE_ID } from '../observability/instance-id.js';
import { Metrics } from '../observability/metrics.js';
import { InMemoryOutbox, type Outbox } from './outbox.js';
import { OutboxRelay } from './outbox-relay.js';

/**
 * Publishes the lock lifecycle events (`ticket-lock.*`) to `LOCK_EVENTS_EXCHANGE` through the
 * transactional outbox: with Redis, the stream the lock scripts append to in the same atomic step as
 * each transition; without Redis, an in-memory queue fed from the changes bus. Its own reconnecting
 * connection, so a consumer-side problem never holds up publishing (and the other way round).
 */
@Injectable()
export class LockEventsPublisher {
  private readonly logger = new Logger('LockEvents');
  private connection: AmqpConnectionManager | undefined;
  private channel: ChannelWrapper | undefined;
  private relay: OutboxRelay | undefined;
  private relayRedis: Redis | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis | null,
    private readonly bus: LockChangesBus,
    private readonly metrics: Metrics,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
  ) {}

  start(url: string): void {
    if (this.relay) return;
    const exchange = this.config.lockEventsExchange;
    let outbox: Outbox;
    let memory: InMemoryOutbox | undefined;
    if (this.redis) {
      // Its own connection: a batch read never queues in front of the lock scripts.
      this.relayRedis = this.redis.duplicate({ lazyConnect: false });
      // ioredis reconnects by itself; a failed read is retried by the relay.
      this.relayRedis.on('error', (error: Error) => this.logger.debug(`outbox connection: ${error.message}`));
      outbox = new RedisOutbox(this.relayRedis, this.config.redisKeyPrefix);
    } else {
      memory = new InMemoryOutbox();
      outbox = memory;
    }

    const connection = amqp.connect([url], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 });
    connection.on('connectFailed', ({ err }) => this.logger.warn(`RabbitMQ unreachable for lifecycle events: ${err.message}`));
    connection.on('disconnect', ({ err }) => this.logger.warn(`lifecycle events connection lost: ${err.message}`));
    const channel = connection.createChannel({
      name: 'lock-events',
      confirm: true,
      json: false,
      setup: (ch: ConfirmChannel) => OutboxRelay.setup(ch, exchange),
    });
    channel.on('error', (error: Error) => this.logger.error(`lifecycle events channel: ${error.message}`));
    const relay = new OutboxRelay(outbox, channel, {
      exchange,
      owner: this.instanceId,
      onPublished: (count) => this.metrics.lifecyclePublished.inc(count),
      connected: () => connection.isConnected(),
    });
    // Back on the broker: publish what waited instead of at the next retry tick.
    channel.on('connect', () => relay.notify());
    this.unsubscribe = this.bus.subscribe((changes) => {
      if (changes.transitions.length === 0) return;
      if (memory) for (const { event, lock } of changes.transitions) memory.append({ event, lock });
      // Only the lease holder publishes; waking another would cost it a failed lease attempt per change.
      if (relay.leading) relay.notify();
    });
    this.connection = connection;
    this.channel = channel;
    this.relay = relay;
    relay.start();
  }

  /** Whether lifecycle events can reach the broker now (for `/ready`). */
  isConnected(): boolean {
    return this.connection?.isConnected() ?? false;
  }

  /** Lets the batch in flight finish, then closes; what is left waits in the outbox for the next relay. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.relay?.stop();
    this.relay = undefined;
    await this.channel?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    if (this.relayRedis && this.relayRedis.status !== 'end') await this.relayRedis.quit().catch(() => undefined);
  }
}
