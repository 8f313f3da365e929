import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { LOCK_CHANGE_FEED, type LifecycleEvent, type LockChangeFeed, type LockChanges, type LockRecord, type LockTransition } from '#lock-domain';
import { eventIdOfRoom, eventRoom, userRoom, type LockNotification } from '#contracts';
import { LockChangesBus } from '../locks/lock-changes.js';
import { LockService } from '../locks/lock.service.js';
import { Metrics } from '../observability/metrics.js';
import { AvailabilityCoalescer } from './availability-coalescer.js';
import { SeatUpdateCoalescer } from './seat-update-coalescer.js';
import { RealtimeNamespaceRef } from './realtime-namespace.js';
import { errorMessage } from '../common/error-message.js';

const NOTIFICATIONS = {
  expired: 'lock-expired',
  released: 'lock-released',
  confirmed: 'lock-confirmed',
} as const satisfies Partial<Record<LifecycleEvent, string>>;

/**
 * Tells this instance's clients about every store change, whichever instance and path made it:
 * owners hear `lock-expired` / `lock-released` / `lock-confirmed` in their `user:<id>` room (every
 * tab), event rooms get coalesced `availability-update`s.
 *
 * Changes come from this instance's own replies (the {@link LockChangesBus}) and from the other
 * instances through the store's {@link LockChangeFeed}, which the lock scripts feed themselves; so
 * every emit here is local (`nsp.local`): a lock request costs Redis one command, not one more
 * PUBLISH per notification, and each client gets at most one update per category and interval
 * however many instances change it.
 */
@Injectable()
export class LockChangesRelay implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LockChangesRelay.name);
  private readonly coalescer: AvailabilityCoalescer;
  /** `seat-update` per event (CONTRACT §6), from the stores' seat deltas. */
  private readonly seats: SeatUpdateCoalescer;
  private unsubscribe: (() => void) | undefined;
  private stopFeed: (() => Promise<void>) | undefined;

  constructor(
    private readonly bus: LockChangesBus,
    @Inject(LOCK_CHANGE_FEED) private readonly feed: LockChangeFeed | null,
    private readonly locks: LockService,
    private readonly namespace: RealtimeNamespaceRef,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.coalescer = new AvailabilityCoalescer({
      intervalMs: config.broadcastIntervalMs,
      send: (availability) => {
        this.metrics.availabilityUpdates.inc({ result: 'sent' });
        this.metrics.messagesSent.inc({ type: 'availability-update' });
        this.namespace.get()?.local.to(eventRoom(availability.eventId)).emit('availability-update', availability);
      },
    });
    this.seats = new SeatUpdateCoalescer({
      intervalMs: config.broadcastIntervalMs,
      send: (update) => {
        this.metrics.messagesSent.inc({ type: 'seat-update' });
        this.namespace.get()?.local.to(eventRoom(update.eventId)).emit('seat-update', update);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribe = this.bus.subscribe((changes) => this.relay(changes));
    this.stopFeed = await this.feed?.subscribe({ changes: (changes) => this.relay(changes), gap: () => this.resync() });
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    this.coalescer.close();
    this.seats.close();
    await this.stopFeed?.();
  }

  private relay(changes: LockChanges): void {
    const nsp = this.namespace.get();
    if (nsp) {
      for (const transition of changes.transitions) {
        const event = notificationOf(transition);
        if (!event) continue;
        this.metrics.messagesSent.inc({ type: event });
        nsp.local.to(userRoom(transition.lock.userId)).emit(event, toNotification(transition.lock));
      }
    }
    if (changes.availability.length > 0) this.metrics.availabilityUpdates.inc({ result: 'offered' }, changes.availability.length);
    for (const availability of changes.availability) this.coalescer.offer(availability);
    for (const delta of changes.seats ?? []) this.seats.offer(delta);
  }

  /**
   * The feed was cut: counts other instances changed meanwhile never arrived, so every event
   * watched here is read afresh (owner notifications of that window are lost; `my-locks` has them).
   * The store's own connection may come back a little later than the feed's, hence the retries.
   */
  private resync(): void {
    const nsp = this.namespace.get();
    if (!nsp) return;
    for (const room of nsp.adapter.rooms.keys()) {
      const eventId = eventIdOfRoom(room);
      if (eventId !== undefined) this.reread(eventId, RESYNC_ATTEMPTS);
    }
  }

  private reread(eventId: string, attemptsLeft: number): void {
    this.locks.eventAvailability(eventId).then(
      (list) => list.forEach((availability) => this.coalescer.offer(availability)),
      (error: unknown) => {
        if (attemptsLeft > 1) {
          setTimeout(() => this.reread(eventId, attemptsLeft - 1), RESYNC_RETRY_MS).unref();
          return;
        }
        this.logger.warn(`counts of event ${eventId} not re-read after a feed gap: ${errorMessage(error)}`);
      },
    );
  }
}

const RESYNC_ATTEMPTS = 20;
const RESYNC_RETRY_MS = 500;

function notificationOf(transition: LockTransition): (typeof NOTIFICATIONS)[keyof typeof NOTIFICATIONS] | undefined {
  return transition.event === 'created' ? undefined : NOTIFICATIONS[transition.event];
}

function toNotification(lock: LockRecord): LockNotification {
  const reason = lock.reason ?? (lock.status === 'EXPIRED' ? 'expired' : undefined);
  return {
    lockId: lock.lockId,
    eventId: lock.eventId,
    categoryId: lock.categoryId,
    quantity: lock.quantity,
    status: lock.status,
    ...(reason === undefined ? {} : { reason }),
    ...(lock.seats === undefined ? {} : { seats: [...lock.seats] }),
  };
}
