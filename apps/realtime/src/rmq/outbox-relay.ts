import { Logger } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { toLock } from '#lock-domain';
import { LOCK_EVENT_PATTERNS } from '#contracts';
import type { Outbox, OutboxEntry } from './outbox.js';
import { withTimeout } from '../common/with-timeout.js';
import { errorMessage } from '../common/error-message.js';

export interface OutboxRelayOptions {
  /** Topic exchange the lifecycle events go to (`LOCK_EVENTS_EXCHANGE`). */
  exchange: string;
  /** Who holds the relay lease (this instance). */
  owner: string;
  /** Entries published per batch. */
  batchSize?: number;
  /** How often an idle relay looks for entries other instances appended. */
  idlePollMs?: number;
  /** Pause after a failed batch (broker away): nothing is trimmed, the batch is retried. */
  retryMs?: number;
  /** The lease outlives a crashed holder by this much before another instance takes over. */
  leaseMs?: number;
  /** A publish not confirmed within this is failed (and the batch retried), so a dead link never stalls the loop. */
  publishTimeoutMs?: number;
  /**
   * Whether the broker connection is up. While it is down the lease is given up, so an instance
   * that still reaches the broker can take over instead of events waiting for this one.
   */
  connected?: () => boolean;
  /** Told how many events the broker confirmed, batch by batch (metrics). */
  onPublished?: (count: number) => void;
}

/**
 * Publishes the outbox to RabbitMQ: a batch at a time, persistent, on a confirm channel, and
 * removes entries only after the broker confirmed them. So an event survives a crash between
 * Redis and RabbitMQ or a broker outage, and is delivered at least once (consumers dedupe on the
 * AMQP `messageId`, the outbox entry id). One instance relays at a time (a lease in Redis), so the
 * events of one lock leave in the order they were recorded. The lock hot path never waits on it.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly batchSize: number;
  private readonly idlePollMs: number;
  private readonly retryMs: number;
  private readonly leaseMs: number;
  private readonly publishTimeoutMs: number;
  private running = false;
  private holdsLease = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private pendingWake = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly channel: ChannelWrapper,
    private readonly options: OutboxRelayOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.idlePollMs = options.idlePollMs ?? 250;
    this.retryMs = options.retryMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  }

  /** Declares the exchange on every (re)connection of the channel. */
  static async setup(channel: ConfirmChannel, exchange: string): Promise<void> {
    await channel.assertExchange(exchange, 'topic', { durable: true });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Lets the batch in flight finish for up to `graceMs`, then closes the channel, which fails what
   * is still unconfirmed (it stays in the outbox for the next relay), and gives up the lease.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.running = false;
    this.notify();
    const loop = this.loop;
    this.loop = undefined;
    if (loop) {
      const finished = await withTimeout(loop.then(() => true), graceMs, false);
      if (!finished) await this.channel.close().catch(() => undefined);
      await loop;
    }
    await this.outbox.dropLease(this.options.owner).catch(() => undefined);
  }

  /** Whether this instance holds the lease, i.e. is the one publishing. */
  get leading(): boolean {
    return this.holdsLease;
  }

  /** A transition was just recorded here: publish now rather than at the next poll. */
  notify(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let delay = this.idlePollMs;
      try {
        if (this.options.connected && !this.options.connected()) {
          if (this.holdsLease) await this.outbox.dropLease(this.options.owner);
          this.holdsLease = false;
          delay = this.retryMs;
        } else {
          this.holdsLease = await this.outbox.holdLease(this.options.owner, this.leaseMs);
          if (!this.holdsLease) {
            delay = this.leaseMs / 4;
          } else {
            const batch = await this.outbox.read(this.batchSize);
            if (batch.length > 0) {
              await this.publish(batch);
              await this.outbox.remove(batch.map((entry) => entry.id));
              this.options.onPublished?.(batch.length);
              // A full batch means more is waiting: go on at once.
              if (batch.length === this.batchSize) delay = 0;
            }
          }
        }
      } catch (error) {
        this.logger.warn(`outbox batch not published, retrying: ${errorMessage(error)}`);
        delay = this.retryMs;
      }
      await this.sleep(delay);
    }
  }

  private async publish(batch: OutboxEntry[]): Promise<void> {
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
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || !this.running) return Promise.resolve();
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pendingWake = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
