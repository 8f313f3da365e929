import { Logger } from '@nestjs/common';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { toLock } from '#lock-domain';
import { LOCK_EVENT_PATTERNS } from '#contracts';
import type { LifecycleEntry, LifecycleSink } from '../lifecycle/lifecycle-sink.js';

export interface RabbitLifecycleSinkOptions {
  url: string;
  /** Topic exchange the lifecycle events go to (`LOCK_EVENTS_EXCHANGE`). */
  exchange: string;
  /** A publish not confirmed within this is failed (and the batch sent again). */
  publishTimeoutMs?: number;
  /** Told how many events the broker confirmed, batch by batch (metrics). */
  onPublished?: (count: number) => void;
  /** The connection is back: what waited can go now. */
  onReconnect?: () => void;
}

/**
 * The lifecycle events on RabbitMQ (`ticket-lock.*` on `LOCK_EVENTS_EXCHANGE`): `{pattern, data}`
 * with the lock as it was at the transition, persistent, on a confirm channel, the outbox entry id as
 * the AMQP `messageId` consumers dedupe on. Its own reconnecting connection, so a consumer-side
 * problem never holds up publishing (and the other way round).
 */
export class RabbitLifecycleSink implements LifecycleSink {
  readonly name = 'rabbitmq';
  private readonly logger = new Logger('LockEvents');
  private readonly connection: AmqpConnectionManager;
  private readonly channel: ChannelWrapper;
  private readonly publishTimeoutMs: number;

  constructor(private readonly options: RabbitLifecycleSinkOptions) {
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
    const { exchange } = options;
    const connection = amqp.connect([options.url], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 });
    connection.on('connectFailed', ({ err }) => this.logger.warn(`RabbitMQ unreachable for lifecycle events: ${err.message}`));
    connection.on('disconnect', ({ err }) => this.logger.warn(`lifecycle events connection lost: ${err.message}`));
    const channel = connection.createChannel({
      name: 'lock-events',
      confirm: true,
      json: false,
      // Declared on every (re)connection of the channel.
      setup: (ch: ConfirmChannel) => ch.assertExchange(exchange, 'topic', { durable: true }),
    });
    channel.on('error', (error: Error) => this.logger.error(`lifecycle events channel: ${error.message}`));
    // Back on the broker: publish what waited instead of at the next retry tick.
    channel.on('connect', () => options.onReconnect?.());
    this.connection = connection;
    this.channel = channel;
  }

  async publish(batch: readonly LifecycleEntry[]): Promise<void> {
    // All of a batch is in flight at once; the confirm channel keeps their order.
    await Promise.all(
      batch.map((entry) => {
        const pattern = LOCK_EVENT_PATTERNS[entry.event];
        // The lock as it was at the transition: the entry id starts with the Redis time of it.
        const at = Number(entry.id.split('-')[0]);
        const body = JSON.stringify({ pattern, data: toLock(entry.lock, at) });
        return this.channel.publish(this.options.exchange, pattern, Buffer.from(body), {
          persistent: true,
          messageId: entry.id,
          timeout: this.publishTimeoutMs,
          contentType: 'application/json',
          type: pattern,
          timestamp: Math.floor(at / 1000),
        });
      }),
    );
    this.options.onPublished?.(batch.length);
  }

  /** While the broker is away this instance gives up the sink, so one that still reaches it can take over. */
  connected(): boolean {
    return this.connection.isConnected();
  }

  /** Closes the channel (failing what is still unconfirmed: it stays in the outbox) and the connection. */
  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
