import { Controller, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { LOCK_STATUSES, LockError, type Lock, type LockStatus } from '#lock-domain';
import {
  RMQ_PATTERNS,
  checkRmqPayload,
  eventRoom,
  userRoom,
  type AcceptedReply,
  type GetLockReply,
  type LockCommandReply,
  type OrderEventMessage,
  type OrderNotification,
  type RmqPattern,
  type RmqPayloads,
} from '#contracts';
import { LockService } from '../locks/lock.service.js';
import { refusal } from '../gateway/answer.js';
import { RealtimeNamespaceRef } from '../gateway/realtime-namespace.js';
import { StatsService } from '../http/stats.service.js';
import type { StatsResponse } from '../http/http-types.js';
import { errorMessage } from '../common/error-message.js';
import { MqttBridge } from '../mqtt/mqtt-bridge.js';
import { DeadLetter, RealtimeRmqContext } from './realtime-rmq.server.js';

type Checked<P extends RmqPattern, Refusal> = { ok: true; data: RmqPayloads[P] } | { ok: false; outcome: Refusal | DeadLetter };

/**
 * The patterns other services send on `REALTIME_QUEUE` (CONTRACT §4). Thin: validation, then a
 * {@link LockService} use case (whose changes reach owners and rooms through the changes bus) or a
 * push to sockets. Acknowledgement, replies, dead-lettering and fault retries are the transport's
 * ({@link RealtimeRmqServer}): a handler returns its reply, a {@link DeadLetter}, or throws for a fault.
 *
 * Every pattern has exactly one `@MessagePattern`, and that serves `emit` as well as `send`: Nest's
 * RMQ server routes by pattern alone and decides by the packet's `id` whether to reply. Adding
 * `@EventPattern` on the same method would only overwrite the metadata, and on a second method it
 * would replace or chain the handler depending on declaration order.
 */
@Controller()
export class RmqController {
  private readonly logger = new Logger('RabbitMQ');

  constructor(
    private readonly locks: LockService,
    private readonly namespace: RealtimeNamespaceRef,
    private readonly statsService: StatsService,
    private readonly mqtt: MqttBridge,
  ) {}

  /**
   * Orders bought the tickets. Confirming a CONFIRMED lock again answers the same for the same order
   * only; another order is refused `LOCK_NOT_ACTIVE` with the `orderId` it was confirmed for.
   */
  @MessagePattern(RMQ_PATTERNS.confirmLock)
  async confirm(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<LockCommandReply | DeadLetter> {
    let confirming: { lockId: string; orderId?: string } | undefined;
    const reply = await this.lockCommand(RMQ_PATTERNS.confirmLock, data, context, (input) => {
      confirming = input;
      return this.locks.confirm(input.lockId, input.orderId);
    });
    // MQTT booking/confirm: a refusal of a valid confirm is told here; one that went through comes from the outbox.
    if (confirming && !(reply instanceof DeadLetter) && !reply.success) {
      this.mqtt.confirmFailed(confirming.lockId, confirming.orderId, reply.message);
    }
    return reply;
  }

  /** Orders gave up. RELEASED and EXPIRED answer unchanged; a CONFIRMED lock is never released. */
  @MessagePattern(RMQ_PATTERNS.releaseLock)
  release(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<LockCommandReply | DeadLetter> {
    return this.lockCommand(RMQ_PATTERNS.releaseLock, data, context, (input) => this.locks.release(input.lockId, input.reason));
  }

  @MessagePattern(RMQ_PATTERNS.getLock)
  async get(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<GetLockReply | DeadLetter> {
    const input = this.check(RMQ_PATTERNS.getLock, data, context, invalid);
    if (!input.ok) return input.outcome;
    const lock = await this.locks.get(input.data.lockId);
    return lock ?? refusal(new LockError('LOCK_NOT_FOUND'));
  }

  /** Emits `type` to every socket of the user, on every instance (the user room spans the cluster). */
  @MessagePattern(RMQ_PATTERNS.notifyUser)
  notifyUser(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): AcceptedReply | DeadLetter {
    const input = this.check(RMQ_PATTERNS.notifyUser, data, context, invalid);
    if (!input.ok) return input.outcome;
    this.push(userRoom(input.data.userId), input.data.type, input.data.payload);
    return { success: true };
  }

  @MessagePattern(RMQ_PATTERNS.broadcastEvent)
  broadcastEvent(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): AcceptedReply | DeadLetter {
    const input = this.check(RMQ_PATTERNS.broadcastEvent, data, context, invalid);
    if (!input.ok) return input.outcome;
    this.push(eventRoom(input.data.eventId), input.data.type, input.data.payload);
    return { success: true };
  }

  /** The Events service resized a category: new counts, and an `availability-update` through the bus. */
  @MessagePattern(RMQ_PATTERNS.inventoryChanged)
  async inventoryChanged(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<AcceptedReply | DeadLetter> {
    const input = this.check(RMQ_PATTERNS.inventoryChanged, data, context, invalid);
    if (!input.ok) return input.outcome;
    const { eventId, categoryId, totalTickets } = input.data;
    try {
      await this.locks.inventoryChanged(eventId, categoryId, totalTickets);
      return { success: true };
    } catch (error) {
      return this.refused(error, context, refusal);
    }
  }

  // --- The original platform's patterns (CONTRACT §9) ------------------------------------------------

  /**
   * The original orders-service confirms with `send('confirm-lock', { lockId, userId })` and treats
   * any truthy answer as success, so the answer is a bare boolean, never an object: true when the
   * lock is CONFIRMED now (a repeat included) and is `userId`'s; false for anything else (unknown,
   * foreign, expired, released, invalid data, or a store fault: Orders waits without a timeout, so a
   * fault is answered false rather than retried).
   */
  @MessagePattern(RMQ_PATTERNS.originalConfirmLock)
  async originalConfirmLock(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<boolean | DeadLetter> {
    const input = this.check(RMQ_PATTERNS.originalConfirmLock, data, context, () => false);
    if (!input.ok) return input.outcome;
    try {
      return await this.locks.confirmOwned(input.data.lockId, input.data.userId);
    } catch (error) {
      this.logger.warn(`confirm-lock ${input.data.lockId} answered false: ${errorMessage(error)}`);
      return false;
    }
  }

  /** An order went through: the buyer's sockets are told, and the category's counts re-read and pushed. */
  @MessagePattern(RMQ_PATTERNS.orderCompleted)
  orderCompleted(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<AcceptedReply | DeadLetter> {
    return this.orderEvent(RMQ_PATTERNS.orderCompleted, data, context, 'Your order has been completed successfully!');
  }

  @MessagePattern(RMQ_PATTERNS.orderCancelled)
  orderCancelled(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<AcceptedReply | DeadLetter> {
    return this.orderEvent(RMQ_PATTERNS.orderCancelled, data, context, 'Your order has been cancelled. Tickets are now available again.');
  }

  /** The original's stats request: the `/stats` body. */
  @MessagePattern(RMQ_PATTERNS.realtimeStats)
  realtimeStats(): Promise<StatsResponse> {
    return this.statsService.stats();
  }

  /**
   * `order-completed` / `order-cancelled`: the push to the buyer first (it needs nothing else), then
   * the counts. An Events service that does not answer is logged and the message acked: the counts
   * stay ours (a completed order's tickets were counted at confirm) until the next re-read. A store
   * fault is retried like any other, which may push the notice again (at-least-once, as notify-user);
   * the ledger settlement itself is once per `orderId`.
   */
  private async orderEvent(
    pattern: typeof RMQ_PATTERNS.orderCompleted | typeof RMQ_PATTERNS.orderCancelled,
    data: unknown,
    context: RealtimeRmqContext,
    message: string,
  ): Promise<AcceptedReply | DeadLetter> {
    const input = this.check(pattern, data, context, invalid);
    if (!input.ok) return input.outcome;
    const order: OrderEventMessage = input.data;
    const notice: OrderNotification = { orderId: order.orderId, eventId: order.eventId, categoryId: order.categoryId, quantity: order.quantity, message };
    this.push(userRoom(order.userId), pattern, notice);
    const settle =
      pattern === RMQ_PATTERNS.orderCompleted ? { orderKey: String(order.orderId), userId: order.userId, quantity: order.quantity } : undefined;
    try {
      await this.locks.refreshCategory(order.eventId, order.categoryId, settle);
    } catch (error) {
      if (!(error instanceof LockError)) throw error;
      this.logger.warn(`${pattern} ${String(order.orderId)}: counts not re-read (${error.code})`);
    }
    return { success: true };
  }

  /** An Orders command on one lock: validated, run, answered with the lock's new status or refused. */
  private async lockCommand<P extends typeof RMQ_PATTERNS.confirmLock | typeof RMQ_PATTERNS.releaseLock>(
    pattern: P,
    data: unknown,
    context: RealtimeRmqContext,
    run: (input: RmqPayloads[P]) => Promise<Lock>,
  ): Promise<LockCommandReply | DeadLetter> {
    const input = this.check(pattern, data, context, (message) => commandRefusal(new LockError('VALIDATION_FAILED', message), data));
    if (!input.ok) return input.outcome;
    try {
      const lock = await run(input.data);
      return { success: true, lockId: lock.lockId, status: lock.status };
    } catch (error) {
      return this.refused(error, context, (refused) => commandRefusal(refused, data));
    }
  }

  /**
   * Validates `data`. A bad request is answered (`VALIDATION_FAILED`, acked: resending it cannot
   * help); a bad event has nobody to answer, so it goes to the dead-letter queue for inspection.
   */
  private check<P extends RmqPattern, Refusal>(pattern: P, data: unknown, context: RealtimeRmqContext, refuse: (message: string) => Refusal): Checked<P, Refusal> {
    const checked = checkRmqPayload(pattern, data);
    if (checked.success) return { ok: true, data: checked.data };
    return { ok: false, outcome: context.expectsReply ? refuse(checked.message) : new DeadLetter('invalid-payload', `${pattern}: ${checked.message}`) };
  }

  /** A refusal is a final answer (acked); anything else is a fault, rethrown so the message is retried. */
  private refused<Reply>(error: unknown, context: RealtimeRmqContext, reply: (refused: LockError) => Reply): Reply {
    if (!(error instanceof LockError)) throw error;
    if (!context.expectsReply) this.logger.log(`${context.getPattern()} refused: ${error.code}`);
    return reply(error);
  }

  private push(room: string, type: string, payload: unknown): void {
    const nsp = this.namespace.get();
    // Before the gateway is up there is nobody to push to yet; a fault, so the message is retried.
    if (!nsp) throw new Error('the Socket.IO namespace is not ready');
    // `type` is any (validated) name, outside the typed server→client map.
    const target = nsp.to(room) as unknown as { emit(event: string, ...args: unknown[]): boolean };
    if (payload === undefined) target.emit(type);
    else target.emit(type, payload);
  }
}

/** A payload that failed validation, answered `VALIDATION_FAILED` naming the offending fields. */
const invalid = (message: string) => refusal(new LockError('VALIDATION_FAILED', message));

/**
 * `{ success: false, lockId, status?, orderId?, code, message }`, the lock id echoed when the request
 * carried one; `orderId`: the order a lock was already confirmed for, when another order asked.
 */
function commandRefusal(error: LockError, data: unknown): LockCommandReply {
  const lockId = typeof data === 'object' && data !== null ? (data as { lockId?: unknown }).lockId : undefined;
  const { status, orderId } = error;
  return {
    ...refusal(error),
    ...(typeof lockId === 'string' && lockId.length <= 128 ? { lockId } : {}),
    ...(isLockStatus(status) ? { status } : {}),
    ...(orderId === undefined ? {} : { orderId }),
  };
}

function isLockStatus(value: unknown): value is LockStatus {
  return typeof value === 'string' && (LOCK_STATUSES as readonly string[]).includes(value);
}
