import { ClientTCP } from '@nestjs/microservices';
import { LockError, idKey, type CatalogId, type CategoryInfo } from '#lock-domain';
import type { AvailabilitySource } from './availability-source.js';
import { RmqEventsSource } from './rmq-events-source.js';

export interface TcpEventsSourceOptions {
  host: string;
  port: number;
  /** `EVENTS_TIMEOUT_MS`: no answer by then → `EVENTS_UNAVAILABLE`. */
  timeoutMs: number;
  answerTtlMs?: number;
}

/**
 * `EVENTS_SOURCE=tcp` (`EVENTS_TCP_URL`): the original platform's events-service, unchanged. It
 * speaks Nest TCP, takes the bare `eventId` as `get-ticket-categories` data, answers TicketCategory
 * entities (`id`, `categoryName`, `totalSeats`, `reservedSeats`, `availableSeats`) and has no
 * per-category request, so a category is looked up in its event's list. The caching, timeout and
 * `EVENTS_UNAVAILABLE` are the RabbitMQ source's.
 */
export class TcpEventsSource extends RmqEventsSource implements AvailabilitySource {
  constructor(options: TcpEventsSourceOptions) {
    super(
      { url: `tcp://${options.host}:${options.port}`, queue: '', timeoutMs: options.timeoutMs, ...(options.answerTtlMs === undefined ? {} : { answerTtlMs: options.answerTtlMs }) },
      new ClientTCP({ host: options.host, port: options.port }),
    );
  }

  /** That service keeps the sales (`reservedSeats`) for every event. */
  override isLedger(): boolean {
    return true;
  }

  override async fetchCategory(eventId: CatalogId, categoryId: CatalogId): Promise<CategoryInfo | null> {
    const event = await this.fetchEvent(eventId);
    if (!event) return null;
    const category = event.categories.find((c) => idKey(c.categoryId) === idKey(categoryId));
    if (category) return category;
    // The event exists: the lock service says CATEGORY_NOT_FOUND (as the RabbitMQ source does).
    throw new LockError('CATEGORY_NOT_FOUND');
  }

  /** The original's ids are database integers: a numeric id goes as a number, like its orders-service sends it. */
  protected override categoriesRequest(eventId: CatalogId): unknown {
    const key = idKey(eventId);
    return /^\d{1,15}$/.test(key) ? Number(key) : key;
  }

  protected override record(data: unknown): unknown {
    return data;
  }
}
