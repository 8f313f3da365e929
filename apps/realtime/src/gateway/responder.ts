import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { LockError } from '#lock-domain';
import {
  RESPONSE_EVENTS,
  checkPayload,
  createSocketPayloadSchemas,
  type Answer,
  type RequestEvent,
  type RequestPayloads,
  type RequestResults,
  type SocketPayloadSchemas,
} from '#contracts';
import { Metrics } from '../observability/metrics.js';
import { InflightRequests } from '../shutdown/inflight-requests.js';
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
  /** Requests between arrival and answer, per socket: the graceful shutdown waits for them. */
  readonly inflight = new InflightRequests();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.schemas = createSocketPayloadSchemas({ maxTicketsPerLock: config.lock.maxTicketsPerLock });
  }

  async answer<E extends RequestEvent>(socket: RealtimeSocket, event: E, data: unknown, ack: unknown, handle: RequestHandler<E>): Promise<void> {
    this.inflight.begin(socket.id);
    try {
      await this.respond(socket, event, data, ack, handle);
    } finally {
      this.inflight.end(socket.id);
    }
  }

  private async respond<E extends RequestEvent>(socket: RealtimeSocket, event: E, data: unknown, ack: unknown, handle: RequestHandler<E>): Promise<void> {
    const started = performance.now();
    this.metrics.messagesReceived.inc({ event });
    let answer: Answer<RequestResults[E]>;
    try {
      const payload = this.parse(socket, event, data);
      answer = { success: true, ...(await handle(payload, socket.data.userId)) };
    } catch (error) {
      answer = toFailure(error, this.logger, `${event} of user ${socket.data.userId}`);
    }
    this.record(socket, event, data, answer, (performance.now() - started) / 1000);
    try {
      sendAnswer(socket, event, ack, answer);
    } catch (error) {
      toFailure(error, this.logger, `answering ${event}`);
    }
  }

  /** Metrics and one structured log line per request (debug level: the hot path stays quiet at info). */
  private record(socket: RealtimeSocket, event: RequestEvent, data: unknown, answer: Answer<unknown>, seconds: number): void {
    const outcome = answer.success ? 'ok' : answer.code;
    this.metrics.requestDuration.observe({ event }, seconds);
    this.metrics.messagesSent.inc({ type: RESPONSE_EVENTS[event] });
    if (LOCK_EVENTS.has(event)) this.metrics.lockOutcomes.inc({ event, outcome });
    this.logger.debug({
      msg: 'request',
      event,
      userId: socket.data.userId,
      sessionId: socket.id,
      lockId: lockIdOf(answer) ?? lockIdOf(data),
      outcome,
      ms: Math.round(seconds * 1e4) / 10,
    });
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

/** Requests that change locks: counted by outcome (ok or error code). */
const LOCK_EVENTS = new Set<RequestEvent>(['lock-tickets', 'unlock-tickets', 'extend-lock', 'hold-seats']);

function lockIdOf(value: unknown): string | undefined {
  const lockId = typeof value === 'object' && value !== null ? (value as { lockId?: unknown }).lockId : undefined;
  return typeof lockId === 'string' ? lockId : undefined;
}
