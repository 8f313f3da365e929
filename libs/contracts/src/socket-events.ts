import { idKey, type Availability, type CatalogId, type ErrorCode, type Lock, type LockStatus, type SeatChange, type SeatMap } from '#lock-domain';
import type { RequestEvent, RequestPayloads } from './socket-payloads.js';

/**
 * Typed Socket.IO event maps of the `/realtime` namespace (CONTRACT §2), shared by the gateway,
 * the tests and any TypeScript client:
 *
 * ```ts
 * const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io('http://host:8880/realtime', { auth: { token } });
 * ```
 */

/** Every answer is `{ success: true, …fields }` or a {@link Failure}. */
export type Success<T> = { success: true } & T;

/** A refusal: `code` is for programs, `message` for people. Never a stack trace. */
export interface Failure {
  success: false;
  code: ErrorCode;
  message: string;
  /** The seats a seat refusal is about (CONTRACT §6: `SEATS_UNAVAILABLE`, `SEAT_NOT_FOUND`, `ORPHAN_SEAT`). */
  seatIds?: string[];
}

export type Answer<T> = Success<T> | Failure;

export interface JoinEventRoomResult {
  eventId: CatalogId;
  /** `event:<eventId>`: where `availability-update` for this event is pushed. */
  room: string;
  /** Every category known for the event. */
  availability: Availability[];
}

export interface LeaveEventRoomResult {
  eventId: CatalogId;
}

export interface LockTicketsResult {
  lockId: string;
  eventId: CatalogId;
  categoryId: CatalogId;
  quantity: number;
  status: LockStatus;
  expiresAt: string;
  expiresInSeconds: number;
  /** The category's available count right after this lock (now, for a replayed `requestId`). */
  availableTickets: number;
  /** On a reserved category: the seats best available picked. */
  seats?: string[];
}

export interface UnlockTicketsResult {
  lockId: string;
  releasedQuantity: number;
  remainingQuantity: number;
  /** `ACTIVE` after a partial unlock, `RELEASED` after a full one. */
  status: LockStatus;
}

export interface ExtendLockResult {
  lockId: string;
  expiresAt: string;
  expiresInSeconds: number;
}

export interface MyLocksResult {
  /** The user's ACTIVE locks, from every session and instance. */
  locks: Lock[];
}

export interface HeartbeatResult {
  /** Server time, ISO 8601. */
  timestamp: string;
}

/** `join-queue` (CONTRACT §7): the user's place in the event's waiting room, or their admission. */
export interface JoinQueueResult {
  eventId: CatalogId;
  state: 'waiting' | 'admitted';
  /** Place number; absent before `salesStartAt` (places are drawn then) and once admitted. */
  position?: number;
  /** Waiting users ahead of this one (absent without a position). */
  ahead?: number;
  queueLength: number;
  /** Admission has reached this place number; the user is admitted when it reaches `position`. */
  servingPosition: number;
  /** From the users ahead and `admitPerMinute` (the cap may make it longer). */
  estimatedWaitSeconds?: number;
  /** ISO 8601. */
  salesStartAt?: string;
  /** Admitted: the signed admission (JWT HS256, `aud` = `event:<eventId>`) and when it ends (ISO 8601). */
  admissionToken?: string;
  admissionExpiresAt?: string;
}

export interface LeaveQueueResult {
  eventId: CatalogId;
  /** Whether there was a place or an admission to give up. */
  left: boolean;
}

/** What a successful request of each event carries besides `success: true`. */
export interface RequestResults {
  'join-event-room': JoinEventRoomResult;
  'leave-event-room': LeaveEventRoomResult;
  'lock-tickets': LockTicketsResult;
  'unlock-tickets': UnlockTicketsResult;
  'extend-lock': ExtendLockResult;
  'get-my-locks': MyLocksResult;
  heartbeat: HeartbeatResult;
  'join-queue': JoinQueueResult;
  'leave-queue': LeaveQueueResult;
  /** `seat-map-response`: every reserved category of the event, seats with their status, and the seat `version`. */
  'get-seat-map': SeatMap;
  /** `hold-seats-response`: the lock, `seats` included. */
  'hold-seats': Lock;
}

/** `get-my-locks` answers on `my-locks-response`; every other event on `<event>-response`. */
export const RESPONSE_EVENTS = {
  'join-event-room': 'join-event-room-response',
  'leave-event-room': 'leave-event-room-response',
  'lock-tickets': 'lock-tickets-response',
  'unlock-tickets': 'unlock-tickets-response',
  'extend-lock': 'extend-lock-response',
  'get-my-locks': 'my-locks-response',
  heartbeat: 'heartbeat-response',
  'join-queue': 'join-queue-response',
  'leave-queue': 'leave-queue-response',
  'get-seat-map': 'seat-map-response',
  'hold-seats': 'hold-seats-response',
} as const satisfies Record<RequestEvent, string>;

export type ResponseEvent = (typeof RESPONSE_EVENTS)[RequestEvent];

/** The acknowledgement callback a client may pass as the last argument. */
export type AnswerCallback<E extends RequestEvent> = (answer: Answer<RequestResults[E]>) => void;

/**
 * Client → server. The payload type is what the server accepts once validated; anything else is
 * answered with `VALIDATION_FAILED`. `get-my-locks` and `heartbeat` may also be sent without a payload.
 */
export type ClientToServerEvents = {
  [E in RequestEvent]: (payload: RequestPayloads[E], ack?: AnswerCallback<E>) => void;
};

/** `{ success: true, sessionId, userId, serverTime, message }`, emitted once the connection is accepted. */
export interface ConnectedPayload {
  success: true;
  /** The socket id; locks taken on this socket belong to this session. */
  sessionId: string;
  userId: string;
  /** ISO 8601. */
  serverTime: string;
  /** For people (the original platform sent one). */
  message: string;
}

/** `joined-event-room` / `left-event-room`, besides the answer: what the original platform's frontend waits for. */
export interface RoomNotice {
  success: true;
  eventId: CatalogId;
  message: string;
}

/** `order-completed` / `order-cancelled` to the buyer's sockets (RabbitMQ from the original orders-service). */
export interface OrderNotice {
  orderId: string | number;
  eventId: CatalogId;
  categoryId: CatalogId;
  quantity: number;
  message: string;
}

/** A lock of the user reached a terminal state (`lock-expired`, `lock-released`, `lock-confirmed`). */
export interface LockNotification {
  lockId: string;
  eventId: CatalogId;
  categoryId: CatalogId;
  quantity: number;
  status: LockStatus;
  reason?: string;
  /** A seat lock's seats. */
  seats?: string[];
}

/**
 * `seat-update` to room `event:<eventId>` (CONTRACT §6): every seat change from `fromVersion` to
 * `version`, merged (the last status of a seat wins). A client whose map is at a version in
 * `[fromVersion, version)` applies it; otherwise it reads the map again (`get-seat-map`).
 */
export interface SeatUpdate {
  eventId: CatalogId;
  fromVersion: number;
  version: number;
  changes: SeatChange[];
  /** ISO 8601. */
  timestamp: string;
}

/** For what has no request to answer (e.g. a rate-limited message without an answer path). */
export interface ErrorNotification {
  code: ErrorCode;
  message: string;
}

/** `queue-update`: to room `queue:<eventId>`, at most once a second while anything changes. */
export interface QueueUpdate {
  eventId: CatalogId;
  servingPosition: number;
  queueLength: number;
  activeUsers: number;
  admitPerMinute: number;
  /** ISO 8601. */
  timestamp: string;
  /** The room was switched off or the event sold out: nobody waits any more. */
  closed?: true;
}

/** `queue-admitted`: to the user's sockets when their turn came. */
export interface QueueAdmitted {
  eventId: CatalogId;
  admissionToken: string;
  /** ISO 8601. */
  admissionExpiresAt: string;
}

type ResponseEvents = {
  [E in RequestEvent as (typeof RESPONSE_EVENTS)[E]]: (answer: Answer<RequestResults[E]>) => void;
};

/**
 * Server → client. Besides these, RabbitMQ `notify-user` / `broadcast-event` messages reach sockets
 * under whatever `type` they name (CONTRACT §4); those are not part of this map.
 */
export type ServerToClientEvents = ResponseEvents & {
  connected: (payload: ConnectedPayload) => void;
  'joined-event-room': (notice: RoomNotice) => void;
  'left-event-room': (notice: RoomNotice) => void;
  'order-completed': (notice: OrderNotice) => void;
  'order-cancelled': (notice: OrderNotice) => void;
  /** To room `event:<eventId>`, coalesced per category (at most one per `BROADCAST_INTERVAL_MS`). */
  'availability-update': (availability: Availability) => void;
  /** To room `event:<eventId>`, coalesced per event (at most one per `BROADCAST_INTERVAL_MS`). */
  'seat-update': (update: SeatUpdate) => void;
  'lock-expired': (notification: LockNotification) => void;
  'lock-released': (notification: LockNotification) => void;
  'lock-confirmed': (notification: LockNotification) => void;
  /** The socket's token expired; the server disconnects it right after (CONTRACT §2 Token lifetime). */
  'token-expired': (payload: { expiredAt: string }) => void;
  error: (error: ErrorNotification) => void;
  'queue-update': (update: QueueUpdate) => void;
  'queue-admitted': (admitted: QueueAdmitted) => void;
};

/** What the server keeps per socket: as little as possible (an idle socket must stay light). */
export interface SocketData {
  /** The authenticated user (JWT `sub` / `userId`, or the anonymous id). */
  userId: string;
  /** Connected without a verified token (anonymous development mode). */
  anonymous?: true;
  /** The token's `exp` (epoch ms): the socket is told `token-expired` and disconnected then. */
  tokenExpiresAt?: number;
  /** Set once this session was granted a lock: only such sessions need a release after disconnect. */
  holdsLocks?: true;
}

/** Rooms: one per event (availability) and one per user (owner notifications, all tabs). */
export const eventRoom = (eventId: CatalogId): string => `event:${idKey(eventId)}`;
/** The event id (key form) an {@link eventRoom} is named after; `undefined` for any other room. */
export const eventIdOfRoom = (room: string): string | undefined => (room.startsWith('event:') ? room.slice(6) : undefined);
export const userRoom = (userId: string): string => `user:${userId}`;
/** A waiting room's watchers (CONTRACT §7): `queue-update` goes there. */
export const queueRoom = (eventId: CatalogId): string => `queue:${idKey(eventId)}`;
/** The event id (key form) a {@link queueRoom} is named after; `undefined` for any other room. */
export const eventIdOfQueueRoom = (room: string): string | undefined => (room.startsWith('queue:') ? room.slice(6) : undefined);
