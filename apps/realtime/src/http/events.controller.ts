import { Controller, Get, HttpException, HttpStatus, Param } from '@nestjs/common';
import { LockError, defaultMessage, idKey, isValidId, type Availability, type ErrorCode, type SeatMap } from '#lock-domain';
import { LockService } from '../locks/lock.service.js';
import type { EventSummary } from './http-types.js';

/** The read side for clients that cannot hold a socket: they poll these. */
@Controller('events')
export class EventsController {
  constructor(private readonly locks: LockService) {}

  /** Every event the service knows, with each category's current counts. */
  @Get()
  async list(): Promise<EventSummary[]> {
    const events = await this.locks.events();
    return events.map(({ event, availability }) => {
      const counts = new Map(availability.map((entry) => [idKey(entry.categoryId), entry]));
      return {
        id: event.id,
        name: event.name ?? String(event.id),
        categories: event.categories.map((category) => {
          const entry = counts.get(idKey(category.categoryId));
          return {
            categoryId: category.categoryId,
            name: category.name ?? String(category.categoryId),
            totalTickets: entry?.totalTickets ?? category.totalTickets,
            availableTickets: entry?.availableTickets ?? category.totalTickets,
            lockedTickets: entry?.lockedTickets ?? 0,
            soldTickets: entry?.soldTickets ?? 0,
            ...(category.reserved ? { reserved: true as const } : {}),
          };
        }),
      };
    });
  }

  /** `Availability[]` of one event; 404 when the event is unknown (or its id cannot exist). */
  @Get(':eventId/availability')
  async availability(@Param('eventId') eventId: string): Promise<Availability[]> {
    return this.read(eventId, () => this.locks.eventAvailability(eventId));
  }

  /** The `seat-map-response` body (CONTRACT §6): reserved categories with each seat's status; 404 for an unknown event. */
  @Get(':eventId/seats')
  async seats(@Param('eventId') eventId: string): Promise<{ success: true } & SeatMap> {
    return { success: true, ...(await this.read(eventId, () => this.locks.seatMap(eventId))) };
  }

  private async read<T>(eventId: string, read: () => Promise<T>): Promise<T> {
    if (!isValidId(eventId)) throw httpError(HttpStatus.NOT_FOUND, 'EVENT_NOT_FOUND');
    try {
      return await read();
    } catch (error) {
      if (error instanceof LockError && error.code === 'EVENT_NOT_FOUND') throw httpError(HttpStatus.NOT_FOUND, error.code);
      if (error instanceof LockError && error.code === 'EVENTS_UNAVAILABLE') throw httpError(HttpStatus.SERVICE_UNAVAILABLE, error.code);
      // Anything else is Nest's generic 500, without internals.
      throw error;
    }
  }
}

function httpError(status: HttpStatus, code: ErrorCode): HttpException {
  return new HttpException({ success: false, code, message: defaultMessage(code) }, status);
}
