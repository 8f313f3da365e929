import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { RmqContext, ServerRMQ, type MessageHandler } from '@nestjs/microservices';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { lastValueFrom } from 'rxjs';
import { withTimeout } from '../common/with-timeout.js';
import { errorMessage } from '../common/error-message.js';

/** Why a message was moved to the dead-letter queue (its `x-dead-letter-reason` header). */
export type DeadLetterReason = 'unparseable-body' | 'not-an-object' | 'unknown-pattern' | 'invalid-payload';

/**
 * What a handler returns instead of a reply when an event-style message is to be dead-lettered
 * (a request gets a `VALIDATION_FAILED` reply instead: its sender is waiting for an answer).
 */
export class DeadLetter {
  constructor(
    readonly reason: DeadLetterReason,
    readonly detail: string,
  ) {}
}

/** The context handlers receive: Nest's RMQ context plus whether the sender waits for a reply. */
export class RealtimeRmqContext extends RmqContext {
  constructor(
    message: ConsumeMessage,
    channel: ConfirmChannel,
    pattern: string,
    /** A request (`send`): it has an `id` and a `replyTo`. An event (`emit`) has neither. */
    readonly expectsReply: boolean,
  ) {
    super([message, channel, pattern]);
  }
}

export interface RealtimeRmqServerOptions {
  url: string;
  /** `REALTIME_QUEUE`. */
  queue: string;
  /** Unacknowledged messages in flight per consumer: bounds memory and work under a flood. */
  prefetch: number;
  /** A handler fault (Redis away) requeues the message after this, instead of spinning on it. */
  faultRetryMs: number;
  /** Told how each message ended (metrics): `ok`, `dead-letter` or `retried`; unknown patterns as `unknown`. */
  onOutcome?: (pattern: string, outcome: 'ok' | 'dead-letter' | 'retried') => void;
}

/** How long a shutdown waits for the messages in progress ({@link RealtimeRmqServer.drain}). */
export const RMQ_DRAIN_MS = 5_000;

/** Nest's reply for a pattern without a handler, so Nest clients fail the same way as with plain ServerRMQ. */
const NO_HANDLER_REPLY = 'There is no matching message handler defined in the remote service.';

/**
 * Nest's RMQ transport with the delivery guarantees of CONTRACT §4:
 *
 * - manual acknowledgement, **after** the handler's effect is committed in Redis (the handler's
 *   promise resolved) and its reply published; refusals (`LockError` replies) are final and acked too;
 * - a handler that throws (a fault such as Redis being away) gets its message requeued after
 *   `faultRetryMs`: nothing is lost, and handlers are idempotent, so the retry has one effect;
 * - unparseable or non-object bodies, unknown patterns and invalid event payloads are copied to
 *   `<queue>.dead-letter` with headers naming the reason, then acked: they never block the consumer
 *   (plain Nest 12 would drop them with a nack) and stay there for an operator to inspect.
 *
 * Acking lives here rather than in each handler so that no path (reply, refusal, dead letter,
 * fault) can forget a message or ack it twice (a double ack makes the broker close the channel).
 */
export class RealtimeRmqServer extends ServerRMQ {
  readonly deadLetterQueue: string;
  private readonly log = new Logger('RabbitMQ');
  private readonly inflight = new Set<Promise<void>>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private current: ConfirmChannel | undefined;
  private draining = false;
  /** Set once the queue is declared and consumed on the current connection. */
  private consuming = false;
  private watchingChannel = false;
  private reportSetupFailure: ((error: unknown) => void) | undefined;
  /** Settles with the error of the first failed channel setup (the start need not wait for it to resolve). */
  readonly setupFailure = new Promise<unknown>((resolve) => {
    this.reportSetupFailure = resolve;
  });

  constructor(private readonly settings: RealtimeRmqServerOptions) {
    super({
      urls: [settings.url],
      queue: settings.queue,
      // Plain `durable: true`, no x-dead-letter arguments: Orders clients assert this queue the Nest
      // way (`queueOptions: { durable: true }`), and any argument they do not repeat would make the
      // broker refuse their declaration (PRECONDITION_FAILED). Hence dead-lettering by hand below.
      queueOptions: { durable: true },
      noAck: false,
      prefetchCount: settings.prefetch,
      // Known, so that drain() can cancel exactly this consumer.
      consumerTag: `realtime-${randomUUID()}`,
      socketOptions: { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 2 },
    });
    this.deadLetterQueue = `${settings.queue}.dead-letter`;
    this.on('disconnect', () => {
      this.consuming = false;
    });
  }

  private get consumerTag(): string {
    return String(this.options.consumerTag);
  }

  /** Whether the queue is being consumed over a live connection (for `/ready`). */
  isConsuming(): boolean {
    return this.consuming && this.server !== null && (this.server as AmqpConnectionManager).isConnected();
  }

  /** Runs on every (re)connection: declares the dead-letter queue, then Nest declares the queue and consumes. */
  override async setupChannel(channel: ConfirmChannel, callback: () => void): Promise<void> {
    this.watchChannel();
    try {
      await channel.assertQueue(this.deadLetterQueue, { durable: true });
      this.current = channel;
      if (this.draining) {
        callback();
        return;
      }
      await super.setupChannel(channel, callback);
      this.consuming = true;
    } catch (error) {
      // E.g. the queue exists with other arguments (PRECONDITION_FAILED): say which, and let /ready show it.
      this.consuming = false;
      this.log.error(`cannot consume ${this.settings.queue}: ${errorMessage(error)}`);
      this.reportSetupFailure?.(error);
      throw error;
    }
  }

  override handleMessage(message: Record<string, unknown> | null, channel: unknown): Promise<void> {
    // null: the broker cancelled the consumer (e.g. the queue was deleted); nothing to process.
    if (!message) return Promise.resolve();
    const work = this.process(message as unknown as ConsumeMessage, channel as ConfirmChannel).finally(() => this.inflight.delete(work));
    this.inflight.add(work);
    return work;
  }

  /**
   * Stops taking new messages and waits (up to `timeoutMs`) for those in progress, so a shutdown
   * does not cut a handler between its effect and its ack. What is left unacked is redelivered.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    await this.current?.cancel(this.consumerTag).catch(() => undefined);
    await withTimeout(Promise.allSettled([...this.inflight]), timeoutMs, undefined);
  }

  override async close(): Promise<void> {
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    await super.close();
  }

  /**
   * Acknowledges a message whose effect is committed. On a channel that closed meanwhile this is a
   * no-op: the broker has already put the message back and will redeliver it.
   */
  acknowledge(channel: ConfirmChannel, message: ConsumeMessage): void {
    try {
      channel.ack(message);
    } catch {
      this.log.warn('ack failed (channel closed): the message will be redelivered');
    }
  }

  /**
   * Nest does not listen for errors on its channel wrapper, which re-emits a failed setup as
   * `error`: without a listener that is an unhandled exception that would take the process down.
   */
  private watchChannel(): void {
    const wrapper = this.channel as ChannelWrapper | null;
    if (this.watchingChannel || !wrapper) return;
    this.watchingChannel = true;
    wrapper.on('error', (error: Error) => this.log.error(`consumer channel: ${error.message}`));
  }

  private async process(message: ConsumeMessage, channel: ConfirmChannel): Promise<void> {
    try {
      const envelope = readEnvelope(message.content);
      if ('reason' in envelope) {
        await this.deadLetter(channel, message, envelope.reason, envelope.detail);
        this.settings.onOutcome?.('unknown', 'dead-letter');
        return;
      }
      const pattern = this.getPatternAsString(envelope.pattern);
      const replyTo = message.properties.replyTo as unknown;
      const expectsReply = envelope.id !== undefined && typeof replyTo === 'string' && replyTo !== '';
      const handler = this.handlerOf(pattern);
      if (!handler) {
        await this.deadLetter(channel, message, 'unknown-pattern', `no handler for pattern ${truncate(pattern)}`);
        if (expectsReply) this.reply(message, { id: envelope.id, err: NO_HANDLER_REPLY, status: 'error', isDisposed: true });
        this.settings.onOutcome?.('unknown', 'dead-letter');
        return;
      }
      const context = new RealtimeRmqContext(message, channel, pattern, expectsReply);
      let outcome: unknown;
      try {
        outcome = await this.run(handler, envelope.data, context);
      } catch (error) {
        this.retryLater(channel, message, pattern, error);
        this.settings.onOutcome?.(pattern, 'retried');
        return;
      }
      if (outcome instanceof DeadLetter) {
        await this.deadLetter(channel, message, outcome.reason, outcome.detail);
        this.settings.onOutcome?.(pattern, 'dead-letter');
        return;
      }
      if (expectsReply) this.reply(message, { id: envelope.id, response: outcome, isDisposed: true });
      this.acknowledge(channel, message);
      this.settings.onOutcome?.(pattern, 'ok');
    } catch (error) {
      // Only the dead-letter publish can land here (channel closed, broker nack): the message is
      // still unacked, so the broker redelivers it, or the retry below puts it back.
      this.retryLater(channel, message, 'dead-letter', error);
    }
  }

  /** The handler of a pattern; a pattern Nest cannot even normalise has none. */
  private handlerOf(pattern: string): MessageHandler | null {
    try {
      return this.getHandlerByPattern(pattern);
    } catch {
      return null;
    }
  }

  private async run(handler: MessageHandler, data: unknown, context: RealtimeRmqContext): Promise<unknown> {
    // Nest's handler proxy turns a thrown error into an erroring observable; both reject here.
    const result: unknown = await handler(data, context);
    return lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
  }

  private retryLater(channel: ConfirmChannel, message: ConsumeMessage, pattern: string, error: unknown): void {
    this.log.warn(`${truncate(pattern)} failed, requeued in ${this.settings.faultRetryMs} ms: ${errorMessage(error)}`);
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      try {
        channel.nack(message, false, true);
      } catch {
        // Channel gone: the broker requeued the message already.
      }
    }, this.settings.faultRetryMs);
    this.retries.add(timer);
  }

  /** Copies the raw message to the dead-letter queue (publisher-confirmed), then acks the original. */
  private async deadLetter(channel: ConfirmChannel, message: ConsumeMessage, reason: DeadLetterReason, detail: string): Promise<void> {
    this.log.warn(`dead-lettered (${reason}): ${detail}`);
    const { properties } = message;
    const options: Options.Publish = {
      persistent: true,
      headers: {
        ...properties.headers,
        'x-dead-letter-reason': reason,
        'x-dead-letter-detail': truncate(detail, 500),
        'x-original-queue': this.settings.queue,
        'x-dead-lettered-at': new Date().toISOString(),
      },
    };
    for (const key of ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'messageId', 'timestamp', 'type', 'appId'] as const) {
      const value = properties[key] as unknown;
      if (value !== undefined) (options as Record<string, unknown>)[key] = value;
    }
    await new Promise<void>((resolve, reject) => {
      channel.sendToQueue(this.deadLetterQueue, message.content, options, (error: unknown) => (error ? reject(toError(error)) : resolve()));
    });
    this.acknowledge(channel, message);
  }

  private reply(message: ConsumeMessage, packet: Record<string, unknown>): void {
    const { replyTo, correlationId } = message.properties as { replyTo?: string; correlationId?: string };
    if (!replyTo) return;
    const wrapper = this.channel as ChannelWrapper | null;
    wrapper?.sendToQueue(replyTo, Buffer.from(JSON.stringify(packet)), { correlationId }).catch((error: unknown) => {
      this.log.warn(`reply to ${replyTo} not sent: ${errorMessage(error)}`);
    });
  }
}

type Envelope = { pattern: unknown; data: unknown; id: unknown } | { reason: DeadLetterReason; detail: string };

/** The Nest RMQ packet `{ pattern, data, id? }`, or why it is not one. */
function readEnvelope(content: Buffer): Envelope {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    return { reason: 'unparseable-body', detail: 'the body is not JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { reason: 'not-an-object', detail: `the body is ${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}, not { pattern, data }` };
  }
  const { pattern, data, id } = body as Record<string, unknown>;
  if (typeof pattern !== 'string' && (typeof pattern !== 'object' || pattern === null)) {
    return { reason: 'unknown-pattern', detail: 'the body has no pattern' };
  }
  return { pattern, data, id };
}

function truncate(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(errorMessage(error));
}
