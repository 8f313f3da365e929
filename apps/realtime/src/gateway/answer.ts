import type { Logger } from '@nestjs/common';
import { LockError, defaultMessage } from '#lock-domain';
import { RESPONSE_EVENTS, type Answer, type Failure, type RequestEvent, type RequestResults } from '#contracts';
import type { RealtimeSocket } from './socket-types.js';

/**
 * The one place where a thrown error becomes what a client sees: a {@link LockError} keeps its code
 * and message; anything else is an internal fault, logged here with its stack and answered as a
 * generic `INTERNAL_ERROR` (no stack, no internal text leaves the server).
 */
export function toFailure(error: unknown, logger: Logger, context: string): Failure {
  if (error instanceof LockError) return refusal(error);
  logger.error(`${context} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return { success: false, code: 'INTERNAL_ERROR', message: defaultMessage('INTERNAL_ERROR') };
}

/** A refusal as every answer carries it (sockets and RabbitMQ alike): its code and message. */
export function refusal(error: LockError): Failure {
  const failure: Failure = { success: false, code: error.code, message: error.message };
  if (error.seatIds !== undefined) failure.seatIds = [...error.seatIds];
  return failure;
}

/**
 * The answer path of a request: the acknowledgement callback when the client passed one, and always
 * `<event>-response` (`my-locks-response` for `get-my-locks`), with the same payload.
 */
export function sendAnswer<E extends RequestEvent>(socket: RealtimeSocket, event: E, ack: unknown, answer: Answer<RequestResults[E]>): void {
  if (typeof ack === 'function') (ack as (answer: unknown) => void)(answer);
  // The typed emit cannot follow a generic event name; RESPONSE_EVENTS ties the two together.
  (socket.emit as (event: string, answer: unknown) => boolean)(RESPONSE_EVENTS[event], answer);
}

export function isRequestEvent(event: unknown): event is RequestEvent {
  return typeof event === 'string' && Object.hasOwn(RESPONSE_EVENTS, event);
}
