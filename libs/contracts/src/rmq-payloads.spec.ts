import { describe, expect, it } from 'vitest';
import { RMQ_PATTERNS, checkRmqPayload, eventsAvailabilityReplySchema, eventsCategoriesReplySchema } from './rmq-payloads.js';

describe('Events service replies', () => {
  it('accept our shape and the original events-service\'s TicketCategory entities (reservedSeats as sold)', () => {
    const ours = eventsCategoriesReplySchema.parse([{ categoryId: 'vip', name: 'VIP', totalTickets: 50, availableTickets: 40 }]);
    expect(ours).toEqual([{ categoryId: 'vip', name: 'VIP', totalTickets: 50, availableTickets: 40 }]);

    const original = eventsCategoriesReplySchema.parse([
      { id: 11, categoryName: 'Gold', price: '120.00', totalSeats: 10, reservedSeats: 3, availableSeats: 7, description: '', isActive: true, eventId: 1 },
      { id: 13, categoryName: 'Retired', price: '1.00', totalSeats: 5, reservedSeats: 0, availableSeats: 5, isActive: false, eventId: 1 },
    ]);
    expect(original).toEqual([
      { categoryId: 11, name: 'Gold', totalTickets: 10, availableTickets: 7, soldTickets: 3 },
      { categoryId: 13, name: 'Retired', totalTickets: 5, availableTickets: 5, soldTickets: 0, inactive: true },
    ]);
    expect(eventsAvailabilityReplySchema.parse({ id: 11, categoryName: 'Gold', totalSeats: 10, reservedSeats: 3 })).toEqual({
      categoryId: 11,
      name: 'Gold',
      totalTickets: 10,
      soldTickets: 3,
    });
    expect(eventsCategoriesReplySchema.safeParse([{ id: 11, totalSeats: -1 }]).success).toBe(false);
  });
});

describe('the original platform\'s patterns', () => {
  it('confirm-lock takes { lockId, userId? } with a numeric or string user id', () => {
    expect(checkRmqPayload(RMQ_PATTERNS.originalConfirmLock, { lockId: 'l-1', userId: 42 })).toEqual({ success: true, data: { lockId: 'l-1', userId: '42' } });
    expect(checkRmqPayload(RMQ_PATTERNS.originalConfirmLock, { lockId: 'l-1' })).toEqual({ success: true, data: { lockId: 'l-1' } });
    expect(checkRmqPayload(RMQ_PATTERNS.originalConfirmLock, { userId: 42 }).success).toBe(false);
  });

  it('order-completed keeps the order id in the form it came', () => {
    const data = { orderId: 7, eventId: 1, categoryId: 2, quantity: 3, userId: 9 };
    expect(checkRmqPayload(RMQ_PATTERNS.orderCompleted, data)).toEqual({ success: true, data: { ...data, userId: '9' } });
    expect(checkRmqPayload(RMQ_PATTERNS.orderCancelled, { ...data, orderId: '9123456789012345678' }).success).toBe(true);
    expect(checkRmqPayload(RMQ_PATTERNS.orderCompleted, { ...data, quantity: 0 }).success).toBe(false);
  });
});
