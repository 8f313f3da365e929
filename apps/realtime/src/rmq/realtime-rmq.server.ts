import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { RmqContext, ServerRMQ, type MessageHandler } from '@nestjs/microservices';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { lastValueFrom } from 'rxjs';
import { withTimeout } from '../common/with-timeout.js';
import { errorMessage } from '../common/error-message.js';
import {
  decideRetry,
  deadLetterPublishOptions,
  isUnreadable,
  readEnvelope,
  retryPublishOptions,
  truncate,
  type DeadLetterReason,
  type RetryPolicy,
} from './rmq-envelope.js';

export type { DeadLetterReason } from './rmq-envelope.js';

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
  /**
   * A handler fault (Redis away, anything thrown) sends the message back through `<queue>.retry`
   * after a delay doubling from `baseDelayMs`; after `maxRetries` it is dead-lettered.
   */
  retry: RetryPolicy;
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
 * - a handler that throws (a fault such as Redis being away) gets its message retried: a copy
 *   counting the attempt (`x-retry-count`) waits in `<queue>.retry` (per-message TTL, then the
 *   broker dead-letters it back to the queue) and the original is acked, so a waiting retry holds no
 *   prefetch slot; handlers are idempotent, so a retry has one effect. After `retry.maxRetries` the
 *   message is dead-lettered (`retries-exhausted`, the last error as detail) and a waiting sender
 *   gets an `INTERNAL_ERROR` answer: no message, however many of them, can stall the consumer;
 * - unparseable or non-object bodies, unknown patterns and invalid event payloads are copied to
 *   `<queue>.dead-letter` with headers naming the reason, then acked: they never block the consumer
 *   (plain Nest 12 would drop them with a nack) and stay there for an operator to inspect.
 *
 * Acking lives here rather than in each handler so that no path (reply, refusal, dead letter,
 * fault) can forget a message or ack it twice (a double ack makes the broker close the channel).
 */
export class RealtimeRmqServer extends ServerRMQ {
  readonly deadLetterQueue: string;
  /** Where a retried message waits out its delay before the broker puts it back in the queue. */
  readonly retryQueue: string;
  private readonly log = new Logger('RabbitMQ');
  private readonly inflight = new Set<Promise<void>>();
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
    this.retryQueue = `${settings.queue}.retry`;
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
      // Expired copies go back to the queue through the default exchange.
      await channel.assertQueue(this.retryQueue, {
        durable: true,
        arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': this.settings.queue },
      });
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

  /**
   * Acknowledges a message whose effect is committed. On a channel that closed meanwhile this is a
   * no-op: the broker has already put the message back and will redeliver it.
   */
  acknowledge(channel: ConfirmChannel, message: ConsumeMessage): void {
    if (!ackQuietly(channel, message)) this.log.warn('ack failed (channel closed): the message will be redelivered');
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
    let pattern = 'unknown';
    let expectsReply = false;
    let id: unknown;
    try {
      const envelope = readEnvelope(message.content);
      if (isUnreadable(envelope)) {
        await this.deadLetter(channel, message, envelope.reason, envelope.detail);
        this.settings.onOutcome?.('unknown', 'dead-letter');
        return;
      }
      id = envelope.id;
      const replyTo = message.properties.replyTo as unknown;
      expectsReply = envelope.id !== undefined && typeof replyTo === 'string' && replyTo !== '';
      const name = this.getPatternAsString(envelope.pattern);
      const handler = this.handlerOf(name);
      if (!handler) {
        await this.deadLetter(channel, message, 'unknown-pattern', `no handler for pattern ${truncate(name)}`);
        if (expectsReply) this.reply(message, { id, err: NO_HANDLER_REPLY, status: 'error', isDisposed: true });
        this.settings.onOutcome?.('unknown', 'dead-letter');
        return;
      }
      pattern = name;
      const outcome = await this.run(handler, envelope.data, new RealtimeRmqContext(message, channel, pattern, expectsReply));
      if (outcome instanceof DeadLetter) {
        await this.deadLetter(channel, message, outcome.reason, outcome.detail);
        this.settings.onOutcome?.(pattern, 'dead-letter');
        return;
      }
      if (expectsReply) this.reply(message, { id, response: outcome, isDisposed: true });
      this.acknowledge(channel, message);
      this.settings.onOutcome?.(pattern, 'ok');
    } catch (error) {
      await this.failed(channel, message, { pattern, expectsReply, id }, error);
    }
  }

  /**
   * A failed attempt (a handler fault, or a dead-letter publish that failed): retried later, or,
   * past the cap, dead-lettered with the last error. If even that cannot be published, the message
   * goes back to the queue as it is (its retry count unchanged).
   */
  private async failed(channel: ConfirmChannel, message: ConsumeMessage, sent: { pattern: string; expectsReply: boolean; id: unknown }, error: unknown): Promise<void> {
    const decision = decideRetry(message.properties.headers, this.settings.retry);
    try {
      if (decision.retry) {
        this.log.warn(`${truncate(sent.pattern)} failed, retry ${decision.attempt} in ${decision.delayMs} ms: ${errorMessage(error)}`);
        await this.publish(channel, this.retryQueue, message.content, retryPublishOptions(message.properties, decision.attempt, decision.delayMs));
        // Not acknowledge(): nothing is committed, the copy now carries the message.
        ackQuietly(channel, message);
        this.settings.onOutcome?.(sent.pattern, 'retried');
        return;
      }
      await this.deadLetter(channel, message, 'retries-exhausted', `${sent.pattern} failed ${decision.attempts} times, last: ${errorMessage(error)}`);
      if (sent.expectsReply) {
        this.reply(message, { id: sent.id, response: { success: false, code: 'INTERNAL_ERROR', message: 'The message could not be processed' }, isDisposed: true });
      }
      this.settings.onOutcome?.(sent.pattern, 'dead-letter');
    } catch (publishError) {
      // Channel closed: the broker already put the message back. A refused publish on a live channel:
      // give it back ourselves after a pause, so it cannot hold a prefetch slot for ever.
      this.log.warn(`${truncate(sent.pattern)}: could not retry or dead-letter (${errorMessage(publishError)}); requeued`);
      setTimeout(() => nackQuietly(channel, message), this.settings.retry.baseDelayMs).unref();
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

  /** Copies the raw message to the dead-letter queue (publisher-confirmed), then acks the original. */
  private async deadLetter(channel: ConfirmChannel, message: ConsumeMessage, reason: DeadLetterReason, detail: string): Promise<void> {
    this.log.warn(`dead-lettered (${reason}): ${detail}`);
    const options = deadLetterPublishOptions(message.properties, { reason, detail, queue: this.settings.queue, at: new Date() });
    await this.publish(channel, this.deadLetterQueue, message.content, options);
    this.acknowledge(channel, message);
  }

  private publish(channel: ConfirmChannel, queue: string, content: Buffer, options: Options.Publish): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      channel.sendToQueue(queue, content, options, (error: unknown) => (error ? reject(toError(error)) : resolve()));
    });
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

/** Acks; false when the channel is closed (the broker then redelivers the message). */
function ackQuietly(channel: ConfirmChannel, message: ConsumeMessage): boolean {
  try {
    channel.ack(message);
    return true;
  } catch {
    return false;
  }
}

function nackQuietly(channel: ConfirmChannel, message: ConsumeMessage): void {
  try {
    channel.nack(message, false, true);
  } catch {
    // Channel gone: the broker requeued the message already.
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(errorMessage(error));
}
