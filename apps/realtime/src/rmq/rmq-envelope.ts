import type { MessageProperties, Options } from 'amqplib';

/**
 * What the RabbitMQ consumer decides about a message, as pure functions (no channel, no clock of its
 * own): reading the Nest envelope, counting retries, and the headers of a dead-lettered or retried
 * copy. {@link RealtimeRmqServer} only acts on these decisions (ack, publish, reply).
 */

/** Why a message was moved to the dead-letter queue (its `x-dead-letter-reason` header). */
export type DeadLetterReason = 'unparseable-body' | 'not-an-object' | 'unknown-pattern' | 'invalid-payload' | 'retries-exhausted';

/** Header counting how many times a message has been handed back for another attempt. */
export const RETRY_COUNT_HEADER = 'x-retry-count';

/** The Nest RMQ packet `{ pattern, data, id? }`. */
export interface Envelope {
  pattern: unknown;
  data: unknown;
  id: unknown;
}

/** A message that is not a Nest packet, and why. */
export interface Unreadable {
  reason: DeadLetterReason;
  detail: string;
}

/** The Nest RMQ packet `{ pattern, data, id? }` of a body, or why it is not one. */
export function readEnvelope(content: Buffer): Envelope | Unreadable {
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

export function isUnreadable(envelope: Envelope | Unreadable): envelope is Unreadable {
  return 'reason' in envelope;
}

/** How many retries a message has had (0 for a first delivery; a garbled header counts as 0). */
export function retryCount(headers: MessageProperties['headers']): number {
  const raw = headers?.[RETRY_COUNT_HEADER] as unknown;
  const count = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : 0;
  return Number.isSafeInteger(count) && count > 0 ? count : 0;
}

export interface RetryPolicy {
  /** Retries after the first attempt; the attempt after the last retry that fails dead-letters. */
  maxRetries: number;
  /** Delay before the first retry; doubled for each further one. */
  baseDelayMs: number;
  /** Upper bound of a retry's delay. */
  maxDelayMs: number;
}

/** After a failed attempt: try again after `delayMs` (as retry number `attempt`), or give up. */
export type RetryDecision = { retry: true; attempt: number; delayMs: number } | { retry: false; attempts: number };

export function decideRetry(headers: MessageProperties['headers'], policy: RetryPolicy): RetryDecision {
  const done = retryCount(headers);
  if (done >= policy.maxRetries) return { retry: false, attempts: done + 1 };
  const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** done);
  return { retry: true, attempt: done + 1, delayMs };
}

/** Properties a copy keeps from the original (so a reply still reaches its sender, ids stay). */
const KEPT_PROPERTIES = ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'messageId', 'timestamp', 'type', 'appId'] as const;

function keptProperties(properties: MessageProperties): Options.Publish {
  const options: Record<string, unknown> = { persistent: true };
  for (const key of KEPT_PROPERTIES) {
    const value = properties[key] as unknown;
    if (value !== undefined) options[key] = value;
  }
  return options;
}

/** The copy of a message sent back for retry number `attempt`, held `delayMs` in the retry queue first. */
export function retryPublishOptions(properties: MessageProperties, attempt: number, delayMs: number): Options.Publish {
  return {
    ...keptProperties(properties),
    headers: { ...withoutBrokerHeaders(properties.headers), [RETRY_COUNT_HEADER]: attempt },
    expiration: String(Math.max(0, Math.round(delayMs))),
  };
}

/** The copy of a message put in the dead-letter queue, with the reason in its headers. */
export function deadLetterPublishOptions(
  properties: MessageProperties,
  dead: { reason: DeadLetterReason; detail: string; queue: string; at: Date },
): Options.Publish {
  return {
    ...keptProperties(properties),
    headers: {
      ...withoutBrokerHeaders(properties.headers),
      'x-dead-letter-reason': dead.reason,
      'x-dead-letter-detail': truncate(dead.detail, 500),
      'x-original-queue': dead.queue,
      'x-dead-lettered-at': dead.at.toISOString(),
    },
  };
}

/** `x-death` is the broker's own history; it is recomputed by the broker, never copied by hand. */
function withoutBrokerHeaders(headers: MessageProperties['headers']): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...headers };
  delete copy['x-death'];
  delete copy['x-first-death-exchange'];
  delete copy['x-first-death-queue'];
  delete copy['x-first-death-reason'];
  return copy;
}

export function truncate(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
