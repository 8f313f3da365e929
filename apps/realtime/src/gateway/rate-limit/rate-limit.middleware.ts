import { defaultMessage } from '#lock-domain';
import type { Failure } from '#contracts';
import { isRequestEvent, sendAnswer } from '../answer.js';
import type { RealtimeSocket } from '../socket-types.js';
import type { RateLimiter } from './rate-limiter.js';

type PacketMiddleware = (packet: unknown[], next: (error?: Error) => void) => void;

const LIMITED: Failure = { success: false, code: 'RATE_LIMITED', message: defaultMessage('RATE_LIMITED') };

/**
 * Socket.IO packet middleware charging every incoming message to the socket's user. A refused
 * message never reaches its handler: a request of the contract is answered `RATE_LIMITED` on its
 * answer path (its ack, or `<event>-response` without one); anything else gets its ack if it passed
 * one, an `error` event otherwise (answered once either way).
 * The socket stays connected.
 */
export function rateLimitMiddleware(socket: RealtimeSocket, limiter: RateLimiter): PacketMiddleware {
  return (packet, next) => {
    if (limiter.consume(socket.data.userId)) {
      next();
      return;
    }
    const [event] = packet;
    const last = packet.length > 1 ? packet[packet.length - 1] : undefined;
    if (isRequestEvent(event)) {
      sendAnswer(socket, event, last, LIMITED);
      return;
    }
    if (typeof last === 'function') (last as (answer: unknown) => void)(LIMITED);
    else socket.emit('error', { code: LIMITED.code, message: LIMITED.message });
  };
}
