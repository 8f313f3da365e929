import { idKey, type Availability, type CatalogId, type SeatStatus } from '#lock-domain';

/**
 * Seed 003's MQTT topics and payloads (CONTRACT §8): snake_case fields, topic names relative to
 * `MQTT_TOPIC_PREFIX` (the link puts the prefix in front).
 */
export const TOPICS = {
  showingUpdate: (eventId: CatalogId) => `showing/update/${idKey(eventId)}`,
  seatStatus: (eventId: CatalogId) => `seats/status/${idKey(eventId)}`,
  seatSnapshot: (eventId: CatalogId) => `seats/snapshot/${idKey(eventId)}`,
  bookingConfirm: (bookingId: string) => `booking/confirm/${bookingId}`,
  queuePosition: (eventId: CatalogId) => `queue/position/${idKey(eventId)}`,
  bookingHold: (userId: string) => `booking/hold/${userId}`,
  /** What the service subscribes to when `MQTT_ACCEPT_REQUESTS=true`. */
  bookingRequests: 'booking/request/+',
  bookingRequestPrefix: 'booking/request/',
} as const;

/** Seed 003's words for them: held → reserved, sold → booked. */
export type MqttSeatStatus = 'available' | 'reserved' | 'booked' | 'blocked';

const SEAT_STATUS: Record<SeatStatus, MqttSeatStatus> = {
  available: 'available',
  held: 'reserved',
  sold: 'booked',
  blocked: 'blocked',
};

export function mqttSeatStatus(status: SeatStatus): MqttSeatStatus {
  return SEAT_STATUS[status];
}

/** `showing/update/{eventId}`, retained. */
export interface ShowingUpdate {
  showing_id: CatalogId;
  /** The sum of the categories' versions: rises with every change of any category's counts. */
  version: number;
  categories: Availability[];
  timestamp: string;
}

/** `seats/status/{eventId}`, one per seat change. */
export interface SeatStatusMessage {
  showing_id: CatalogId;
  seat_id: string;
  status: MqttSeatStatus;
  /** The event's seat version of the change (`seat-update`'s `version`). */
  version: number;
  timestamp: string;
}

/** `seats/snapshot/{eventId}`, retained: the seats that are not available. */
export interface SeatSnapshot {
  showing_id: CatalogId;
  version: number;
  seats: Record<string, Exclude<MqttSeatStatus, 'available'>>;
}

/** `booking/confirm/{orderId or lockId}`. */
export interface BookingConfirmation {
  booking_id: string;
  lock_id: string;
  status: 'confirmed' | 'failed';
  message: string;
  timestamp: string;
}

/** `queue/position/{eventId}`, retained. */
export interface QueuePosition {
  event_id: CatalogId;
  serving_position: number;
  queue_length: number;
  timestamp: string;
}

/** `booking/hold/{userId}`: the answer to a `booking/request/{userId}`. */
export interface BookingHoldAnswer {
  request_id: string | null;
  status: 'held' | 'failed';
  lock_id?: string;
  seat_ids: string[];
  code?: string;
  expires_at?: string;
}

/** An order id names its topic only when it cannot change the topic's shape (no level separator, no wildcard). */
const TOPIC_SAFE = /^[^/+#\p{Cc}]{1,128}$/u;

/** `booking/confirm/{orderId or lockId}`: the order id when there is one and it is topic-safe, else the lock id. */
export function bookingId(lockId: string, orderId: string | undefined): string {
  return orderId !== undefined && TOPIC_SAFE.test(orderId) ? orderId : lockId;
}

/** A category version sum, for the event-level `version` of `showing/update`. */
export function showingVersion(categories: readonly Availability[]): number {
  return categories.reduce((sum, category) => sum + category.version, 0);
}
