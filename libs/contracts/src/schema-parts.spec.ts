import { describe, expect, it } from 'vitest';
import { checkRmqPayload } from './rmq-payloads.js';
import { payloadShapeProblem } from './schema-parts.js';

function nested(levels: number): unknown {
  let payload: unknown = 'leaf';
  for (let i = 0; i < levels; i++) payload = { a: payload };
  return payload;
}

describe('payloadShapeProblem (what notify-user / broadcast-event may push)', () => {
  it('accepts ordinary payloads', () => {
    expect(payloadShapeProblem({ title: 'Sale', items: [1, 2, { x: null }] })).toBeUndefined();
    expect(payloadShapeProblem(nested(31))).toBeUndefined();
    expect(payloadShapeProblem(undefined)).toBeUndefined();
  });

  it('refuses deep nesting without recursing (a 100,000-level payload is fine to check)', () => {
    expect(payloadShapeProblem(nested(33))).toBe('is nested deeper than 32 levels');
    expect(payloadShapeProblem(nested(100_000))).toBe('is nested deeper than 32 levels');
  });

  it('refuses too many values and too many bytes', () => {
    expect(payloadShapeProblem(Array.from({ length: 10_001 }, () => 1))).toBe('has more than 10000 values');
    expect(payloadShapeProblem({ text: 'x'.repeat(1024 * 1024) })).toBe('is larger than 1048576 bytes');
  });

  it('is part of the notify-user and broadcast-event schemas', () => {
    expect(checkRmqPayload('notify-user', { userId: 'u', type: 'promo', payload: nested(4000) })).toEqual({
      success: false,
      message: 'Invalid data: payload is nested deeper than 32 levels',
    });
    expect(checkRmqPayload('broadcast-event', { eventId: 1, type: 'promo', payload: { ok: true } }).success).toBe(true);
  });
});
