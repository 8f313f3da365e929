import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { idKey, type QueueSnapshot } from '#lock-domain';
import { eventIdOfQueueRoom, queueRoom, userRoom } from '#contracts';
import { RealtimeNamespaceRef } from '../gateway/realtime-namespace.js';
import { INSTANCE_ID } from '../observability/instance-id.js';
import { Metrics } from '../observability/metrics.js';
import { errorMessage } from '../common/error-message.js';
import { WaitingRoomService, queueUpdate } from './waiting-room.service.js';

/** CONTRACT §7: admission runs every second. */
export const ADMIT_INTERVAL_MS = 1000;
/** The admitter lease outlives a few missed ticks; a dead holder's is taken over within this. */
export const ADMITTER_LEASE_MS = 3000;

/**
 * The waiting rooms' clock, on every instance:
 *
 * - **Admission** (one instance at a time, cluster-wide): every second, the holder of the Redis lease
 *   runs one admission tick per open room, sends `queue-admitted` (with the token) to each admitted
 *   user's sockets (the user room spans instances) and, when a room's version moved, one
 *   `queue-update` to room `queue:<eventId>` — so at most one per room per second. When the holder
 *   dies, its lease lapses and another instance takes over. Two holders at once (a paused process
 *   waking up) cannot over-admit: the pace and the cap are enforced by the store's atomic tick.
 * - **Presence** (each instance for its own sockets): the users with a socket in a queue room here are
 *   marked seen, often enough that `QUEUE_ABANDON_SECONDS` only skips users who really left.
 */
@Injectable()
export class QueueAdmitter implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('QueueAdmitter');
  private readonly pushed = new Map<string, number>();
  private admitTimer: NodeJS.Timeout | undefined;
  private seenTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private holder = false;
  private stopped = false;

  constructor(
    private readonly rooms: WaitingRoomService,
    private readonly namespace: RealtimeNamespaceRef,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
  ) {}

  onApplicationBootstrap(): void {
    this.admitTimer = setInterval(() => void this.tick(), ADMIT_INTERVAL_MS);
    this.admitTimer.unref();
    // A quarter of the abandonment time, so a present user is seen several times before it matters.
    const seenEvery = Math.min(5000, Math.max(250, Math.floor(this.config.waitingRoom.abandonMs / 4)));
    this.seenTimer = setInterval(() => void this.markSeen(), seenEvery);
    this.seenTimer.unref();
  }

  /** Before the Redis connection closes: stop, let a running tick finish, hand the lease over at once. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.admitTimer);
    clearInterval(this.seenTimer);
    await this.running;
    if (this.holder) await this.rooms.releaseLease(this.instanceId).catch(() => undefined);
  }

  /** Whether this instance held the admitter lease at its last tick. */
  get isAdmitter(): boolean {
    return this.holder;
  }

  /** One tick now (never two at once per instance). */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    try {
      this.holder = await this.rooms.lease(this.instanceId, ADMITTER_LEASE_MS);
      if (!this.holder) {
        // Whoever holds it pushes now; should this instance take over, it pushes every room once.
        this.pushed.clear();
        return;
      }
      const { now, rooms } = await this.rooms.snapshots();
      for (const room of rooms) await this.admitRoom(room, now);
    } catch (error) {
      // The next tick retries; a store outage is reported by /ready.
      this.logger.warn(`admission tick failed: ${errorMessage(error)}`);
    }
  }

  private async admitRoom(room: QueueSnapshot, at: number): Promise<void> {
    let snapshot = room;
    let now = at;
    if (room.enabled && !room.closed) {
      const tick = await this.rooms.admit(room.eventId);
      ({ now } = tick);
      snapshot = tick.result.snapshot;
      const event = idKey(room.eventId);
      for (const admission of tick.result.admitted) {
        const admissionToken = await this.rooms.token(room.eventId, admission);
        this.namespace.get()?.to(userRoom(admission.userId)).emit('queue-admitted', {
          eventId: room.eventId,
          admissionToken,
          admissionExpiresAt: new Date(admission.expiresAt).toISOString(),
        });
      }
      if (tick.result.admitted.length > 0) this.metrics.waitingRoomAdmissions.inc({ event }, tick.result.admitted.length);
      if (tick.result.abandoned.length > 0) this.metrics.waitingRoomAbandoned.inc({ event }, tick.result.abandoned.length);
    }
    const key = idKey(snapshot.eventId);
    if (this.pushed.get(key) === snapshot.version) return;
    const nsp = this.namespace.get();
    if (!nsp) return;
    nsp.to(queueRoom(snapshot.eventId)).emit('queue-update', queueUpdate(snapshot, now));
    this.pushed.set(key, snapshot.version);
  }

  /** Marks the users with a socket in a queue room on this instance as present. */
  private async markSeen(): Promise<void> {
    const nsp = this.namespace.get();
    if (!nsp || this.stopped) return;
    const byEvent = new Map<string, string[]>();
    for (const [room, members] of nsp.adapter.rooms) {
      const event = eventIdOfQueueRoom(room);
      if (event === undefined) continue;
      const users = new Set<string>();
      for (const socketId of members) {
        const userId = nsp.sockets.get(socketId)?.data.userId;
        if (userId !== undefined) users.add(userId);
      }
      byEvent.set(event, [...users]);
    }
    for (const [event, users] of byEvent) {
      await this.rooms.seen(event, users).catch((error: unknown) => this.logger.warn(`marking queue users seen failed: ${errorMessage(error)}`));
    }
  }
}
