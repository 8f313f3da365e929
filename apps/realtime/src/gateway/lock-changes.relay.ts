import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import type { LifecycleEvent, LockRecord, LockTransition } from '#lock-domain';
import { eventRoom, userRoom, type LockNotification } from '#contracts';
import { LockChangesBus, type LockChanges } from '../locks/lock-changes.js';
import { Metrics } from '../observability/metrics.js';
import { AvailabilityCoalescer } from './availability-coalescer.js';
import { RealtimeNamespaceRef } from './realtime-namespace.js';

const NOTIFICATIONS = {
  expired: 'lock-expired',
  released: 'lock-released',
  confirmed: 'lock-confirmed',
} as const satisfies Partial<Record<LifecycleEvent, string>>;

/**
 * Tells the world about every store change published on the {@link LockChangesBus}, whichever path
 * made it (socket request, sweep, disconnect release, RabbitMQ): owners hear `lock-expired` /
 * `lock-released` / `lock-confirmed` in their `user:<id>` room (every tab), and event rooms get
 * coalesced `availability-update`s. Through the Socket.IO adapter these reach every instance.
 */
@Injectable()
export class LockChangesRelay implements OnModuleInit, OnModuleDestroy {
  private readonly coalescer: AvailabilityCoalescer;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly bus: LockChangesBus,
    private readonly namespace: RealtimeNamespaceRef,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.coalescer = new AvailabilityCoalescer({
      intervalMs: config.broadcastIntervalMs,
      send: (availability) => {
        this.metrics.availabilityUpdates.inc({ result: 'sent' });
        this.metrics.messagesSent.inc({ type: 'availability-update' });
        this.namespace.get()?.to(eventRoom(availability.eventId)).emit('availability-update', availability);
      },
    });
  }

  onModuleInit(): void {
    this.unsubscribe = this.bus.subscribe((changes) => this.relay(changes));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.coalescer.close();
  }

  private relay(changes: LockChanges): void {
    const nsp = this.namespace.get();
    if (nsp) {
      for (const transition of changes.transitions) {
        const event = notificationOf(transition);
        if (!event) continue;
        this.metrics.messagesSent.inc({ type: event });
        nsp.to(userRoom(transition.lock.userId)).emit(event, toNotification(transition.lock));
      }
    }
    if (changes.availability.length > 0) this.metrics.availabilityUpdates.inc({ result: 'offered' }, changes.availability.length);
    for (const availability of changes.availability) this.coalescer.offer(availability);
  }
}

function notificationOf(transition: LockTransition): (typeof NOTIFICATIONS)[keyof typeof NOTIFICATIONS] | undefined {
  return transition.event === 'created' ? undefined : NOTIFICATIONS[transition.event];
}

export function toNotification(lock: LockRecord): LockNotification {
  const reason = lock.reason ?? (lock.status === 'EXPIRED' ? 'expired' : undefined);
  return {
    lockId: lock.lockId,
    eventId: lock.eventId,
    categoryId: lock.categoryId,
    quantity: lock.quantity,
    status: lock.status,
    ...(reason === undefined ? {} : { reason }),
  };
}
