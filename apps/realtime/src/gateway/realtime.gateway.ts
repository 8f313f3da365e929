import { Inject, Logger } from '@nestjs/common';
import {
  Ack,
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import { eventRoom, queueRoom, userRoom } from '#contracts';
import { LockError, idKey } from '#lock-domain';
import { LockService } from '../locks/lock.service.js';
import { WaitingRoomService } from '../waiting-room/waiting-room.service.js';
import { Metrics } from '../observability/metrics.js';
import { DisconnectGrace } from './disconnect-grace.js';
import { RATE_LIMITER, type RateLimiter } from './rate-limit/rate-limiter.js';
import { rateLimitMiddleware } from './rate-limit/rate-limit.middleware.js';
import { RealtimeNamespaceRef } from './realtime-namespace.js';
import { Responder } from './responder.js';
import { REALTIME_NAMESPACE, type RealtimeNamespace, type RealtimeSocket } from './socket-types.js';
import { TokenExpiryWatch } from './token-expiry-watch.js';
import { WsAuthMiddleware } from './ws-auth.middleware.js';
import { errorMessage } from '../common/error-message.js';

/**
 * The `/realtime` namespace (CONTRACT §2), attached to the HTTP server. Thin on purpose: the
 * handshake is authenticated by {@link WsAuthMiddleware}, every request goes through the
 * {@link Responder} (validation, errors, answer path) to a {@link LockService} use case, and
 * broadcasts come from the lock changes relay, not from here.
 */
@WebSocketGateway({ namespace: REALTIME_NAMESPACE })
export class RealtimeGateway implements OnGatewayInit<RealtimeNamespace>, OnGatewayConnection<RealtimeSocket>, OnGatewayDisconnect<RealtimeSocket> {
  private readonly logger = new Logger(RealtimeGateway.name);

  constructor(
    private readonly locks: LockService,
    private readonly responder: Responder,
    private readonly auth: WsAuthMiddleware,
    private readonly grace: DisconnectGrace,
    private readonly namespace: RealtimeNamespaceRef,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter | null,
    private readonly metrics: Metrics,
    private readonly rooms: WaitingRoomService,
    private readonly expiry: TokenExpiryWatch,
  ) {}

  afterInit(nsp: RealtimeNamespace): void {
    this.namespace.attach(nsp);
    nsp.use(this.auth.use);
  }

  handleConnection(socket: RealtimeSocket): void {
    const { userId } = socket.data;
    this.metrics.connections.inc({ authenticated: socket.data.anonymous ? 'false' : 'true' });
    this.expiry.watch(socket);
    if (this.limiter) {
      socket.use(rateLimitMiddleware(socket, this.limiter));
      this.limiter.track?.(userId);
    }
    const greet = () => {
      socket.emit('connected', { success: true, sessionId: socket.id, userId, serverTime: new Date().toISOString(), message: 'Connected to realtime service' });
    };
    // The user room carries owner notifications to every tab; join it before saying hello.
    const joined = socket.join(userRoom(userId));
    if (!(joined instanceof Promise)) {
      greet();
      return;
    }
    joined.then(greet, (error: unknown) => {
      this.logger.error(`could not join ${userRoom(userId)}: ${errorMessage(error)}`);
      socket.disconnect(true);
    });
  }

  handleDisconnect(socket: RealtimeSocket): void {
    this.metrics.connections.dec({ authenticated: socket.data.anonymous ? 'false' : 'true' });
    this.expiry.forget(socket);
    this.grace.onDisconnect(socket);
  }

  @SubscribeMessage('join-event-room')
  joinEventRoom(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'join-event-room', data, ack, async ({ eventId }) => {
      const room = eventRoom(eventId);
      // Joined before the snapshot is read, so no update can fall between the two (versions order them).
      await socket.join(room);
      const availability = await this.locks.eventAvailability(eventId).catch(async (error: unknown) => {
        await socket.leave(room);
        throw error;
      });
      const id = availability[0]?.eventId ?? eventId;
      // The original platform's frontend waits for this rather than for the answer (CONTRACT §9).
      socket.emit('joined-event-room', { success: true, eventId: id, message: `Joined event ${idKey(id)} room` });
      return { eventId: id, room, availability };
    });
  }

  @SubscribeMessage('leave-event-room')
  leaveEventRoom(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'leave-event-room', data, ack, async ({ eventId }) => {
      await socket.leave(eventRoom(eventId));
      socket.emit('left-event-room', { success: true, eventId, message: `Left event ${idKey(eventId)} room` });
      return { eventId };
    });
  }

  @SubscribeMessage('lock-tickets')
  lockTickets(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'lock-tickets', data, ack, async ({ eventId, categoryId, quantity, requestId }, userId) => {
      // Marked before the store call: a disconnect during it must still schedule the release.
      socket.data.holdsLocks = true;
      const lock = await this.locks.lock({
        eventId,
        categoryId,
        hold: { kind: 'quantity', quantity },
        userId,
        sessionId: socket.id,
        ...(requestId === undefined ? {} : { requestId }),
      });
      if (socket.disconnected) this.grace.onDisconnect(socket);
      const { lockId, status, expiresAt, expiresInSeconds, availableTickets } = lock;
      return {
        lockId,
        eventId: lock.eventId,
        categoryId: lock.categoryId,
        quantity: lock.quantity,
        status,
        expiresAt,
        expiresInSeconds,
        availableTickets,
        // Best available on a reserved category: the seats it picked.
        ...(lock.seats === undefined ? {} : { seats: lock.seats }),
      };
    });
  }

  @SubscribeMessage('get-seat-map')
  getSeatMap(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'get-seat-map', data, ack, async ({ eventId }) => this.locks.seatMap(eventId));
  }

  @SubscribeMessage('hold-seats')
  holdSeats(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'hold-seats', data, ack, async ({ eventId, seatIds, lockId, requestId }, userId) => {
      // As for lock-tickets: marked first, so a disconnect during the call still schedules the release.
      socket.data.holdsLocks = true;
      const lock = await this.locks.holdSeats({
        eventId,
        seatIds,
        userId,
        sessionId: socket.id,
        ...(lockId === undefined ? {} : { lockId }),
        ...(requestId === undefined ? {} : { requestId }),
      });
      if (socket.disconnected) this.grace.onDisconnect(socket);
      return lock;
    });
  }

  @SubscribeMessage('unlock-tickets')
  unlockTickets(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'unlock-tickets', data, ack, async (payload, userId) => {
      const { quantity, seatIds, userId: _claimed, ...target } = 'seatIds' in payload ? payload : { ...payload, seatIds: undefined };
      try {
        return await this.locks.unlock(userId, target, quantity, seatIds, socket.id);
      } catch (error) {
        throw 'lockId' in target && (target.eventId ?? target.categoryId) !== undefined ? explainMismatch(error) : error;
      }
    });
  }

  @SubscribeMessage('extend-lock')
  extendLock(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'extend-lock', data, ack, async ({ lockId }, userId) => {
      const lock = await this.locks.extend(userId, lockId, socket.id);
      return { lockId: lock.lockId, expiresAt: lock.expiresAt, expiresInSeconds: lock.expiresInSeconds };
    });
  }

  @SubscribeMessage('get-my-locks')
  getMyLocks(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'get-my-locks', data, ack, async (_payload, userId) => ({ locks: await this.locks.myLocks(userId) }));
  }

  @SubscribeMessage('heartbeat')
  heartbeat(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'heartbeat', data, ack, async () => ({ timestamp: new Date().toISOString() }));
  }

  /** CONTRACT §7: the user's place (one per user, whatever the tab); this socket watches the room. */
  @SubscribeMessage('join-queue')
  joinQueue(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'join-queue', data, ack, async ({ eventId }, userId) => {
      const room = queueRoom(eventId);
      // Joined before the place is read, so no queue-update can fall between the two.
      await socket.join(room);
      try {
        return await this.rooms.join(eventId, userId);
      } catch (error) {
        await socket.leave(room);
        throw error;
      }
    });
  }

  @SubscribeMessage('leave-queue')
  leaveQueue(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() data: unknown, @Ack() ack: unknown): Promise<void> {
    return this.responder.answer(socket, 'leave-queue', data, ack, async ({ eventId }, userId) => {
      const left = await this.rooms.leave(eventId, userId);
      await socket.leave(queueRoom(eventId));
      return left;
    });
  }
}

/** By lockId with eventId/categoryId along, a VALIDATION_FAILED from the store says which rule. */
function explainMismatch(error: unknown): unknown {
  // A refusal naming seats (seatIds not in the lock) already says why.
  if (!(error instanceof LockError) || error.code !== 'VALIDATION_FAILED' || error.seatIds !== undefined) return error;
  return new LockError('VALIDATION_FAILED', 'eventId/categoryId must be those of the lock, and quantity at most what it holds');
}
