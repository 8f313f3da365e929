import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { LockError } from '#lock-domain';
import {
  checkPayload,
  createSocketPayloadSchemas,
  type Answer,
  type RequestEvent,
  type RequestPayloads,
  type RequestResults,
  type SocketPayloadSchemas,
} from '#contracts';
import { sendAnswer, toFailure } from './answer.js';
import type { RealtimeSocket } from './socket-types.js';

/** What a gateway handler does once its payload is valid and its user known. */
export type RequestHandler<E extends RequestEvent> = (payload: RequestPayloads[E], userId: string) => Promise<RequestResults[E]>;

/**
 * Runs one client request from raw input to answer, so every handler of the gateway gets the same
 * treatment: the payload is validated (`VALIDATION_FAILED`, naming the fields, nothing changed), a
 * `userId` in it must be the authenticated user (`FORBIDDEN`), any thrown error becomes a contract
 * failure through {@link toFailure}, and the answer goes out on the ack and `<event>-response`.
 * Never throws: bad input cannot break or disconnect a socket.
 */
@Injectable()
export class Responder {
  private readonly logger = new Logger('RealtimeGateway');
  private readonly schemas: SocketPayloadSchemas;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.schemas = createSocketPayloadSchemas({ maxTicketsPerLock: config.lock.maxTicketsPerLock });
  }

  async answer<E extends RequestEvent>(socket: RealtimeSocket, event: E, data: unknown, ack: unknown, handle: RequestHandler<E>): Promise<void> {
    let answer: Answer<RequestResults[E]>;
    try {
      const payload = this.parse(socket, event, data);
      answer = { success: true, ...(await handle(payload, socket.data.userId)) };
    } catch (error) {
      answer = toFailure(error, this.logger, `${event} of user ${socket.data.userId}`);
    }
    try {
      sendAnswer(socket, event, ack, answer);
    } catch (error) {
      toFailure(error, this.logger, `answering ${event}`);
    }
  }

  private parse<E extends RequestEvent>(socket: RealtimeSocket, event: E, data: unknown): RequestPayloads[E] {
    const checked = checkPayload(this.schemas, event, data);
    if (!checked.success) throw new LockError('VALIDATION_FAILED', checked.message);
    // A userId in a payload is never trusted, only compared.
    const claimed = checked.data.userId;
    if (claimed !== undefined && String(claimed) !== socket.data.userId) {
      throw new LockError('FORBIDDEN', 'userId does not match the authenticated user');
    }
    return checked.data;
  }
}
