import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { LockError, WAITING_ROOM_STORE, type Admission, type AdmitResult, type CatalogId, type QueueSnapshot, type WaitingRoomSettings, type WaitingRoomStore } from '#lock-domain';
import type { JoinQueueResult, LeaveQueueResult, QueueUpdate } from '#contracts';
import { AdmissionTokens } from './admission-tokens.js';

/**
 * The waiting room use cases (CONTRACT §7) over the {@link WaitingRoomStore}: one store call per
 * request, answers in the wire form (ISO times, the estimate, the admission token).
 */
@Injectable()
export class WaitingRoomService {
  private readonly logger = new Logger('WaitingRoom');
  private explained = false;

  constructor(
    @Inject(WAITING_ROOM_STORE) private readonly store: WaitingRoomStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: AdmissionTokens,
  ) {}

  /** Switches a room on (or changes it), or off with `null`. Idempotent. */
  async configure(eventId: CatalogId, settings: WaitingRoomSettings | null): Promise<QueueSnapshot> {
    if (settings !== null) {
      if (!this.tokens.available) {
        throw new LockError('VALIDATION_FAILED', 'A waiting room needs ADMISSION_TOKEN_SECRET to be configured in production');
      }
      if (!this.explained) {
        this.explained = true;
        this.tokens.explainKey();
      }
    }
    const { value } = await this.store.configure(eventId, settings);
    this.logger.log(`waiting room ${String(value.eventId)} ${settings ? 'on' : 'off'}`);
    return value;
  }

  async join(eventId: CatalogId, userId: string): Promise<JoinQueueResult> {
    const { value } = await this.store.join(eventId, userId);
    const { entry, snapshot } = value;
    const result: JoinQueueResult = {
      eventId: snapshot.eventId,
      state: entry.state,
      queueLength: snapshot.queueLength,
      servingPosition: snapshot.servingPosition,
    };
    if (entry.position !== undefined) {
      result.position = entry.position;
      result.ahead = entry.ahead ?? 0;
      // Everyone ahead, then this user, at the pace (the cap on active users can only make it longer).
      result.estimatedWaitSeconds = Math.ceil(((result.ahead + 1) * 60) / snapshot.admitPerMinute);
    }
    if (snapshot.salesStartAt !== undefined) result.salesStartAt = new Date(snapshot.salesStartAt).toISOString();
    if (entry.state === 'admitted' && entry.admittedAt !== undefined && entry.admissionExpiresAt !== undefined) {
      result.admissionToken = await this.tokens.sign(snapshot.eventId, userId, entry.admittedAt, entry.admissionExpiresAt);
      result.admissionExpiresAt = new Date(entry.admissionExpiresAt).toISOString();
    }
    return result;
  }

  async leave(eventId: CatalogId, userId: string): Promise<LeaveQueueResult> {
    const { value } = await this.store.leave(eventId, userId);
    return { eventId: value.snapshot.eventId, left: value.left };
  }

  /** RabbitMQ `get-admission`. */
  async admission(eventId: CatalogId, userId: string): Promise<{ admitted: boolean; admissionExpiresAt?: string }> {
    const { value } = await this.store.admission(eventId, userId);
    return value ? { admitted: true, admissionExpiresAt: new Date(value.expiresAt).toISOString() } : { admitted: false };
  }

  async snapshots(): Promise<{ now: number; rooms: QueueSnapshot[] }> {
    const { now, value } = await this.store.snapshots();
    return { now, rooms: value };
  }

  /** One admission tick of one room (the admitter calls it while it holds the lease). */
  async admit(eventId: CatalogId): Promise<{ now: number; result: AdmitResult }> {
    const { now, value } = await this.store.admit(eventId, { abandonMs: this.config.waitingRoom.abandonMs });
    return { now, result: value };
  }

  async token(eventId: CatalogId, admission: Admission): Promise<string> {
    return this.tokens.sign(eventId, admission.userId, admission.admittedAt, admission.expiresAt);
  }

  seen(eventId: CatalogId, userIds: string[]): Promise<void> {
    return this.store.seen(eventId, userIds);
  }

  lease(owner: string, ttlMs: number): Promise<boolean> {
    return this.store.lease(owner, ttlMs);
  }

  releaseLease(owner: string): Promise<void> {
    return this.store.releaseLease(owner);
  }
}

/** A room's figures as `queue-update` carries them. */
export function queueUpdate(snapshot: QueueSnapshot, now: number): QueueUpdate {
  return {
    eventId: snapshot.eventId,
    servingPosition: snapshot.servingPosition,
    queueLength: snapshot.queueLength,
    activeUsers: snapshot.activeUsers,
    admitPerMinute: snapshot.admitPerMinute,
    timestamp: new Date(now).toISOString(),
    ...(snapshot.closed ? { closed: true as const } : {}),
  };
}
