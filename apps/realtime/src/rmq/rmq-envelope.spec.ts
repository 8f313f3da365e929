import { describe, expect, it } from 'vitest';
import type { MessageProperties } from 'amqplib';
import { decideRetry, deadLetterPublishOptions, readEnvelope, retryCount, retryPublishOptions } from './rmq-envelope.js';

const policy = { maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 3000 };
const props = (extra: Partial<MessageProperties> = {}) => ({ headers: {}, ...extra }) as MessageProperties;

describe('readEnvelope', () => {
  it('reads a Nest packet', () => {
    expect(readEnvelope(Buffer.from('{"pattern":"p","data":{"a":1},"id":"7"}'))).toEqual({ pattern: 'p', data: { a: 1 }, id: '7' });
  });

  it.each([
    ['not json', 'unparseable-body'],
    ['[1]', 'not-an-object'],
    ['null', 'not-an-object'],
    ['"text"', 'not-an-object'],
    ['{"data":1}', 'unknown-pattern'],
    ['{"pattern":5}', 'unknown-pattern'],
  ])('%s → dead letter %s', (body, reason) => {
    expect(readEnvelope(Buffer.from(body))).toMatchObject({ reason });
  });
});

describe('retries', () => {
  it('counts from the x-retry-count header; missing or garbled is 0', () => {
    expect(retryCount(undefined)).toBe(0);
    expect(retryCount({})).toBe(0);
    expect(retryCount({ 'x-retry-count': 2 })).toBe(2);
    expect(retryCount({ 'x-retry-count': '3' })).toBe(3);
    expect(retryCount({ 'x-retry-count': -1 })).toBe(0);
    expect(retryCount({ 'x-retry-count': 'x' })).toBe(0);
  });

  it('retries with doubling, capped delays, then gives up after maxRetries', () => {
    expect(decideRetry({}, policy)).toEqual({ retry: true, attempt: 1, delayMs: 1000 });
    expect(decideRetry({ 'x-retry-count': 1 }, policy)).toEqual({ retry: true, attempt: 2, delayMs: 2000 });
    expect(decideRetry({ 'x-retry-count': 2 }, policy)).toEqual({ retry: true, attempt: 3, delayMs: 3000 });
    expect(decideRetry({ 'x-retry-count': 3 }, policy)).toEqual({ retry: false, attempts: 4 });
    expect(decideRetry({ 'x-retry-count': 99 }, policy)).toEqual({ retry: false, attempts: 100 });
  });

  it('a retried copy keeps what the sender needs for its reply, counts the attempt and expires into the queue', () => {
    const options = retryPublishOptions(
      props({ correlationId: 'c1', replyTo: 'amq.rabbitmq.reply-to', messageId: 'm1', headers: { own: 'x', 'x-death': [], 'x-retry-count': 1 } }),
      2,
      2000,
    );
    expect(options).toEqual({
      persistent: true,
      correlationId: 'c1',
      replyTo: 'amq.rabbitmq.reply-to',
      messageId: 'm1',
      headers: { own: 'x', 'x-retry-count': 2 },
      expiration: '2000',
    });
  });
});

describe('deadLetterPublishOptions', () => {
  it('records the reason, a bounded detail, the queue and when', () => {
    const options = deadLetterPublishOptions(props({ contentType: 'application/json', headers: { 'x-retry-count': 3 } }), {
      reason: 'retries-exhausted',
      detail: 'y'.repeat(600),
      queue: 'realtime_queue',
      at: new Date('2026-01-01T00:00:00Z'),
    });
    expect(options.persistent).toBe(true);
    expect(options.contentType).toBe('application/json');
    expect(options.headers).toMatchObject({
      'x-retry-count': 3,
      'x-dead-letter-reason': 'retries-exhausted',
      'x-original-queue': 'realtime_queue',
      'x-dead-lettered-at': '2026-01-01T00:00:00.000Z',
    });
    expect(String((options.headers as Record<string, unknown>)['x-dead-letter-detail'])).toHaveLength(501);
  });
});
