import { Controller, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { LockError } from '#lock-domain';
import { WAITING_ROOM_RMQ_PATTERNS, checkConfigureWaitingRoom, checkGetAdmission, type AcceptedReply, type Failure, type GetAdmissionReply, type PayloadCheck } from '#contracts';
import { refusal } from '../gateway/answer.js';
import { WaitingRoomService } from '../waiting-room/waiting-room.service.js';
import { DeadLetter, RealtimeRmqContext } from './realtime-rmq.server.js';

/**
 * The waiting room's RabbitMQ patterns (CONTRACT §7), beside {@link RmqController}'s and handled by
 * the same transport (ack after commit, dead letters, fault retries): a handler returns its reply or
 * a {@link DeadLetter}, and throws only for a fault (retried).
 */
@Controller()
export class WaitingRoomRmqController {
  private readonly logger = new Logger('RabbitMQ');

  constructor(private readonly rooms: WaitingRoomService) {}

  /** An event (or a request): switches a room on, changes it, or off. Idempotent. */
  @MessagePattern(WAITING_ROOM_RMQ_PATTERNS.configure)
  async configure(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<AcceptedReply | DeadLetter> {
    const input = this.check(checkConfigureWaitingRoom(data), context);
    if (!input.ok) return input.outcome;
    try {
      await this.rooms.configure(input.data.eventId, input.data.settings);
      return { success: true };
    } catch (error) {
      return this.refused(error, context);
    }
  }

  /** A request: whether the user's admission is running now (Orders checkout asks it). */
  @MessagePattern(WAITING_ROOM_RMQ_PATTERNS.getAdmission)
  async getAdmission(@Payload() data: unknown, @Ctx() context: RealtimeRmqContext): Promise<GetAdmissionReply | DeadLetter> {
    const input = this.check(checkGetAdmission(data), context);
    if (!input.ok) return input.outcome;
    try {
      return await this.rooms.admission(input.data.eventId, input.data.userId);
    } catch (error) {
      return this.refused(error, context);
    }
  }

  /** A bad request is answered `VALIDATION_FAILED`; a bad event has nobody to answer: dead-lettered. */
  private check<T>(checked: PayloadCheck<T>, context: RealtimeRmqContext): { ok: true; data: T } | { ok: false; outcome: Failure | DeadLetter } {
    if (checked.success) return { ok: true, data: checked.data };
    return {
      ok: false,
      outcome: context.expectsReply
        ? refusal(new LockError('VALIDATION_FAILED', checked.message))
        : new DeadLetter('invalid-payload', `${context.getPattern()}: ${checked.message}`),
    };
  }

  /** A refusal is a final answer (acked); anything else is a fault, rethrown so the message is retried. */
  private refused(error: unknown, context: RealtimeRmqContext): Failure {
    if (!(error instanceof LockError)) throw error;
    if (!context.expectsReply) this.logger.log(`${context.getPattern()} refused: ${error.code}`);
    return refusal(error);
  }
}
