import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '#config';
import { LOCK_CHANGE_FEED, type LockChangeFeed } from '#lock-domain';
import { REDIS } from '../locks/lock-store.module.js';
import { LockChangesBus } from '../locks/lock-changes.js';
import { LockService } from '../locks/lock.service.js';
import { INSTANCE_ID } from '../observability/instance-id.js';
import { Metrics } from '../observability/metrics.js';
import { WaitingRoomService } from '../waiting-room/waiting-room.service.js';
import { RedisLeaderLease, SoleLeaderLease } from './leader-lease.js';
import { MqttLink } from './mqtt-link.js';
import { MqttRequests } from './mqtt-requests.js';
import { MqttStatePublisher, type MqttStateSource } from './mqtt-state.publisher.js';
import { TOPICS, bookingId, type BookingConfirmation } from './mqtt-topics.js';

/**
 * The MQTT bridge of CONTRACT §8 (exists only with `MQTT_URL`): one {@link MqttLink} per instance,
 * the cluster's one {@link MqttStatePublisher} (Redis lease), booking confirmations and, with
 * `MQTT_ACCEPT_REQUESTS=true`, booking requests. Nothing here is awaited by a lock request.
 */
@Injectable()
export class MqttBridge {
  private readonly logger = new Logger('MqttBridge');
  /** Absent without `MQTT_URL`: every method is then a no-op. */
  readonly link: MqttLink | undefined;
  private readonly publisher: MqttStatePublisher | undefined;
  private readonly requests: MqttRequests | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly reconnectListeners: Array<() => void> = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) redis: Redis | null,
    @Inject(LOCK_CHANGE_FEED) feed: LockChangeFeed | null,
    @Inject(INSTANCE_ID) instanceId: string,
    private readonly bus: LockChangesBus,
    private readonly locks: LockService,
    private readonly rooms: WaitingRoomService,
    metrics: Metrics,
  ) {
    const mqtt = config.mqtt;
    if (!mqtt) return;
    // Created here rather than injected: the link's connection events drive the publisher's lease.
    this.link = new MqttLink({
      url: mqtt.url,
      clientId: `realtime-${instanceId}`.slice(0, 128),
      topicPrefix: mqtt.topicPrefix,
      onConnect: () => {
        metrics.mqttConnected.set({ role: 'link' }, 1);
        this.publisher?.linkUp();
        for (const listener of this.reconnectListeners) listener();
      },
      onDisconnect: () => {
        metrics.mqttConnected.set({ role: 'link' }, 0);
        this.publisher?.linkDown();
      },
      onSent: (topic) => metrics.mqttMessages.inc({ topic: topicKind(topic), outcome: 'sent' }),
      onDropped: (topic) => {
        metrics.mqttMessages.inc({ topic: topicKind(topic), outcome: 'dropped' });
        this.logger.warn(`MQTT buffer full: a message on ${topic} was dropped`);
      },
    });
    this.publisher = new MqttStatePublisher({
      link: this.link,
      source: this.source(),
      // Under the deployment's hash tag, like every other key of the service.
      lease: redis ? new RedisLeaderLease(redis, config.redisKeyPrefix, 'mqtt-publisher') : new SoleLeaderLease(),
      feed,
      owner: instanceId,
      broadcastIntervalMs: config.broadcastIntervalMs,
      onLeading: (leading) => metrics.mqttConnected.set({ role: 'publisher' }, leading ? 1 : 0),
    });
    // Only behind an ACL that lets a client write its own booking/request/{userId} (CONTRACT §8).
    if (mqtt.acceptRequests) this.requests = new MqttRequests({ link: this.link, hold: (call) => this.locks.holdSeats(call) });
  }

  /** Whether this instance publishes the state topics now (tests, logs). */
  get leading(): boolean {
    return this.publisher?.isLeading ?? false;
  }

  start(): void {
    if (!this.link || !this.publisher) return;
    const publisher = this.publisher;
    this.unsubscribe = this.bus.subscribe((changes) => publisher.offer(changes));
    this.requests?.start();
    this.link.start();
    publisher.start();
  }

  /** Called on every (re)connection to the broker (the lifecycle sink's relay sends what waited). */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /**
   * A confirm over RabbitMQ was refused: `booking/confirm/{orderId or lockId}` says `failed`.
   * (A confirm that went through is published from the lifecycle outbox, see the MQTT sink.)
   */
  confirmFailed(lockId: string, orderId: string | undefined, message: string): void {
    const body: BookingConfirmation = {
      booking_id: bookingId(lockId, orderId),
      lock_id: lockId,
      status: 'failed',
      message,
      timestamp: new Date().toISOString(),
    };
    this.link?.send(TOPICS.bookingConfirm(body.booking_id), body);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.publisher?.stop();
    await this.link?.close();
  }

  private source(): MqttStateSource {
    return {
      events: async () =>
        (await this.locks.events()).map(({ event, availability }) => ({
          eventId: event.id,
          availability,
          reserved: event.categories.some((category) => category.reserved === true || category.seats !== undefined),
        })),
      eventAvailability: (eventId) => this.locks.eventAvailability(eventId),
      seatStatuses: async (eventId) => {
        const map = await this.locks.seatMap(eventId);
        if (map.categories.length === 0) return null;
        return { version: map.version, seats: map.categories.flatMap((category) => category.rows.flatMap((row) => row.seats)) };
      },
      queues: async () => (await this.rooms.snapshots()).rooms,
    };
  }
}

/** `seats/status/7` → `seats/status`: a metric label per topic kind, not per event. */
function topicKind(topic: string): string {
  return topic.split('/').slice(0, 2).join('/');
}
