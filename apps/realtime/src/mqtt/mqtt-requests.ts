import { Logger } from '@nestjs/common';
import { z } from 'zod';
import { LockError, isValidId, type CatalogId, type Lock } from '#lock-domain';
import { errorMessage } from '../common/error-message.js';
import type { MqttLink } from './mqtt-link.js';
import { TOPICS, type BookingHoldAnswer } from './mqtt-topics.js';

/** What a booking request asks for, checked: `hold-seats` for the topic's user. */
export interface SeatHoldCall {
  eventId: CatalogId;
  seatIds: string[];
  userId: string;
  /** MQTT holds have no socket: `mqtt:<userId>`, so no disconnect grace releases them (they expire). */
  sessionId: string;
  requestId?: string;
}

/** Options of {@link MqttRequests}. */
export interface MqttRequestsOptions {
  link: MqttLink;
  /** Holds the seats (`LockService.holdSeats`); refusals are `LockError`s. */
  hold: (call: SeatHoldCall) => Promise<Lock>;
  /** The shared-subscription group: each request goes to one instance of the deployment. */
  group?: string;
}

// Seed 003's booking request: { user_id, showing_id, seat_ids, timestamp, request_id? }. Extra fields are ignored.
const requestId = z.string().min(1).max(64);
const bookingRequest = z.object({
  user_id: z.union([z.string().min(1).max(256), z.int().nonnegative().transform(String)]),
  showing_id: z.union([z.string(), z.number()]).refine(isValidId, 'showing_id: expected an event id'),
  seat_ids: z.array(z.string().min(1).max(32)).min(1).max(1000),
  timestamp: z.unknown().optional(),
  request_id: requestId.optional(),
});

/**
 * Inbound `booking/request/{userId}` (only with `MQTT_ACCEPT_REQUESTS=true`): holds the seats for the
 * topic's user, as `hold-seats` would, and answers on `booking/hold/{userId}`. The topic is the
 * identity, so the broker's ACL must let a client write only its own topic (deploy/mosquitto/acl);
 * the payload's `user_id` must name the same user (else `FORBIDDEN`, nothing held). A payload that is
 * not JSON, or not an object, is ignored: nothing is held and nothing answered (there is no
 * request to answer). A shared subscription gives each request to one instance.
 */
export class MqttRequests {
  private readonly logger = new Logger('MqttRequests');

  constructor(private readonly options: MqttRequestsOptions) {}

  start(): void {
    // receive() never rejects: every outcome is answered or ignored inside it.
    this.options.link.subscribe(TOPICS.bookingRequests, (topic, payload) => void this.receive(topic, payload), this.options.group ?? 'realtime-service');
  }

  /** Handles one message (exposed for unit tests); resolves when its answer was handed to the link. */
  async receive(topic: string, payload: Buffer): Promise<void> {
    const userId = topic.slice(TOPICS.bookingRequestPrefix.length);
    if (userId.length === 0 || userId.includes('/')) return;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      this.logger.debug(`booking/request/${userId}: not JSON, ignored`);
      return;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    const raw = body as Record<string, unknown>;
    const echoedId = requestId.safeParse(raw.request_id);
    const answerId = echoedId.success ? echoedId.data : null;
    const parsed = bookingRequest.safeParse(body);
    if (!parsed.success) {
      this.answer(userId, { request_id: answerId, status: 'failed', seat_ids: seatIdsOf(raw), code: 'VALIDATION_FAILED' });
      return;
    }
    const request = parsed.data;
    if (request.user_id !== userId) {
      this.answer(userId, { request_id: answerId, status: 'failed', seat_ids: request.seat_ids, code: 'FORBIDDEN' });
      return;
    }
    try {
      const lock = await this.options.hold({
        eventId: request.showing_id,
        seatIds: request.seat_ids,
        userId,
        sessionId: `mqtt:${userId}`,
        ...(request.request_id === undefined ? {} : { requestId: request.request_id }),
      });
      this.answer(userId, {
        request_id: answerId,
        status: 'held',
        lock_id: lock.lockId,
        seat_ids: lock.seats ?? request.seat_ids,
        expires_at: lock.expiresAt,
      });
    } catch (error) {
      const refused = error instanceof LockError;
      if (!refused) this.logger.warn(`booking/request/${userId} failed: ${errorMessage(error)}`);
      this.answer(userId, {
        request_id: answerId,
        status: 'failed',
        // A refusal about particular seats names exactly those (e.g. the ones already taken).
        seat_ids: refused && error.seatIds?.length ? error.seatIds : request.seat_ids,
        code: refused ? error.code : 'INTERNAL_ERROR',
      });
    }
  }

  private answer(userId: string, answer: BookingHoldAnswer): void {
    this.options.link.send(TOPICS.bookingHold(userId), answer);
  }
}

function seatIdsOf(raw: Record<string, unknown>): string[] {
  return Array.isArray(raw.seat_ids) ? raw.seat_ids.filter((s): s is string => typeof s === 'string').slice(0, 1000) : [];
}
