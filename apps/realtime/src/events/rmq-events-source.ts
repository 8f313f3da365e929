import { Logger } from '@nestjs/common';
import { ClientRMQ, RmqRecordBuilder } from '@nestjs/microservices';
import { firstValueFrom, timeout, type Observable } from 'rxjs';
import type { z } from 'zod';
import { LockError, idKey, layoutProblems, sellableSeats, type CatalogId, type CategoryInfo, type EventInfo, type SeatLayout } from '#lock-domain';
import {
  EVENTS_PATTERNS,
  eventsAvailabilityReplySchema,
  eventsCategoriesReplySchema,
  eventsSeatMapReplySchema,
  type EventsCategoriesReply,
} from '#contracts';
import type { AvailabilitySource } from './availability-source.js';

export interface RmqEventsSourceOptions {
  url: string;
  /** `EVENTS_QUEUE`. */
  queue: string;
  /** `EVENTS_TIMEOUT_MS`: no answer by then → `EVENTS_UNAVAILABLE`. */
  timeoutMs: number;
  /**
   * How long an answer is reused. The lock service already asks once per burst of first requests;
   * this closes the gap of a request that read "unknown" just before the answer was stored.
   */
  answerTtlMs?: number;
}

/** What the source needs of a Nest client (ClientRMQ, ClientTCP). */
export interface EventsClient {
  send<R>(pattern: string, data: unknown): Observable<R>;
  close(): unknown;
}

interface Cached {
  promise: Promise<unknown>;
  /** Infinity while the request is in flight. */
  expiresAt: number;
}

/**
 * `EVENTS_SOURCE=rabbitmq`: asks the Events service over its Nest RMQ queue, the first time an event
 * or category is seen (the lock service then caches the capacities in Redis, so this is never on the
 * lock hot path). With our own reply shape only `totalTickets` is used: sold tickets are counted here,
 * from confirms. With the original events-service's shape (`reservedSeats`), that service is the
 * sales ledger and its sold count comes along (`soldTickets`, see `LockService.refreshCategory`).
 */
export class RmqEventsSource implements AvailabilitySource {
  readonly lazy = true;
  private readonly logger = new Logger('EventsSource');
  private readonly client: EventsClient;
  private readonly answers = new Map<string, Cached>();
  private readonly answerTtlMs: number;
  /** Events whose answers carried sold counts (the original's shape): their sales ledger is there. */
  private readonly ledgers = new Set<string>();

  /** `client`: another Nest transport's client (the TCP source); by default a ClientRMQ on `queue`. */
  constructor(
    private readonly options: RmqEventsSourceOptions,
    client?: EventsClient,
  ) {
    this.answerTtlMs = options.answerTtlMs ?? 5000;
    this.client = client ?? new ClientRMQ({
      urls: [options.url],
      queue: options.queue,
      // The Events service owns its queue: declaring it here could only conflict with its own
      // declaration (PRECONDITION_FAILED). A request to a queue nobody declared fails as a timeout.
      noAssert: true,
      persistent: false,
      socketOptions: { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 2 },
    });
  }

  async initialEvents(): Promise<EventInfo[]> {
    return [];
  }

  async fetchEvent(eventId: CatalogId): Promise<EventInfo | null> {
    const [reply, seats] = await Promise.all([
      this.ask(`e:${idKey(eventId)}`, EVENTS_PATTERNS.categories, this.categoriesRequest(eventId), eventsCategoriesReplySchema),
      this.seatMaps(eventId),
    ]);
    if (reply === null) return null;
    const categories = uniqueCategories(reply).map((category) => withSeats(category, seats));
    if (categories.some((c) => c.soldTickets !== undefined)) this.noteLedger(eventId);
    // A reserved category the categories answer left out is still the event's.
    for (const [key, map] of seats) {
      if (!categories.some((c) => idKey(c.categoryId) === key)) categories.push({ categoryId: map.categoryId, totalTickets: sellableSeats(map.layout), seats: map.layout });
    }
    return { id: eventId, categories };
  }

  async fetchCategory(eventId: CatalogId, categoryId: CatalogId): Promise<CategoryInfo | null> {
    const key = `c:${idKey(eventId)}:${idKey(categoryId)}`;
    const [reply, seats] = await Promise.all([
      this.ask(key, EVENTS_PATTERNS.availability, { eventId, categoryId }, eventsAvailabilityReplySchema),
      this.seatMaps(eventId),
    ]);
    if (reply !== null && !('inactive' in reply)) {
      if (idKey(reply.categoryId) !== idKey(categoryId)) {
        this.logger.warn(`Events answered category ${idKey(reply.categoryId)} for ${key}`);
        throw new LockError('EVENTS_UNAVAILABLE');
      }
      const category = withSeats(categoryInfo(reply), seats);
      if (category.soldTickets !== undefined) this.noteLedger(eventId);
      return category;
    }
    // No such category: say CATEGORY_NOT_FOUND when the event itself exists, EVENT_NOT_FOUND otherwise.
    const event = await this.fetchEvent(eventId).catch(() => null);
    if (event) throw new LockError('CATEGORY_NOT_FOUND');
    return null;
  }

  async refetchCategory(eventId: CatalogId, categoryId: CatalogId): Promise<CategoryInfo | null> {
    this.forget(eventId, categoryId);
    return this.fetchCategory(eventId, categoryId);
  }

  isLedger(eventId: CatalogId): boolean {
    return this.ledgers.has(idKey(eventId));
  }

  private noteLedger(eventId: CatalogId): void {
    // Bounded like the answer cache; forgetting one only skips a re-read on inventory-changed.
    if (this.ledgers.size > 10_000) this.ledgers.clear();
    this.ledgers.add(idKey(eventId));
  }

  /**
   * The event's reserved categories (CONTRACT §6 `get-seat-map`), asked once per event beside the
   * categories: a category's seats must be known before its first lock, or it is defined as general
   * admission. An Events service that cannot answer it (one without seats: no handler, another
   * shape, no reply in time) has no reserved categories — said in the log, so locks keep working
   * with it. A layout that breaks the seat rules is refused (`EVENTS_UNAVAILABLE`).
   */
  private async seatMaps(eventId: CatalogId): Promise<Map<string, { categoryId: CatalogId; layout: SeatLayout }>> {
    const reply = await this.ask(`s:${idKey(eventId)}`, EVENTS_PATTERNS.seatMap, { eventId }, eventsSeatMapReplySchema).catch((error: unknown) => {
      if (!(error instanceof LockError)) throw error;
      this.logger.warn(`get-seat-map ${idKey(eventId)}: no usable answer, so no reserved categories for it`);
      return null;
    });
    const maps = new Map<string, { categoryId: CatalogId; layout: SeatLayout }>();
    const seen = new Set<string>();
    for (const category of reply?.categories ?? []) {
      const layout: SeatLayout = { rows: category.rows, ...(category.blocked ? { blocked: category.blocked } : {}) };
      const problems = layoutProblems(layout, seen);
      if (problems.length > 0) {
        this.logger.warn(`get-seat-map ${idKey(eventId)}: category ${idKey(category.categoryId)}: ${problems.slice(0, 3).join('; ')}`);
        throw new LockError('EVENTS_UNAVAILABLE');
      }
      for (const row of layout.rows) for (const seat of row.seats) seen.add(seat);
      maps.set(idKey(category.categoryId), { categoryId: category.categoryId, layout });
    }
    return maps;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** What `get-ticket-categories` carries: `{ eventId }` here, the bare id for the original events-service. */
  protected categoriesRequest(eventId: CatalogId): unknown {
    return { eventId };
  }

  /** The transport's record for `data`: on RabbitMQ it expires in the queue with the caller's patience. */
  protected record(data: unknown): unknown {
    return new RmqRecordBuilder(data).setOptions({ expiration: String(this.options.timeoutMs) }).build();
  }

  /** Drops the cached answers about a category (and its event's list), so the next read asks again. */
  protected forget(eventId: CatalogId, categoryId: CatalogId): void {
    this.answers.delete(`e:${idKey(eventId)}`);
    this.answers.delete(`c:${idKey(eventId)}:${idKey(categoryId)}`);
  }

  /** One request per key at a time; an answer (found or `null`) is reused for a short while. */
  private ask<S extends z.ZodType>(key: string, pattern: string, data: unknown, schema: S): Promise<z.output<S>> {
    const now = Date.now();
    const cached = this.answers.get(key);
    if (cached && cached.expiresAt > now) return cached.promise as Promise<z.output<S>>;
    if (this.answers.size > 10_000) this.prune(now);
    const entry: Cached = { promise: this.request(pattern, data, schema), expiresAt: Infinity };
    this.answers.set(key, entry);
    entry.promise.then(
      () => {
        entry.expiresAt = Date.now() + this.answerTtlMs;
      },
      () => {
        // A failure is not remembered: the next request asks again.
        if (this.answers.get(key) === entry) this.answers.delete(key);
      },
    );
    return entry.promise as Promise<z.output<S>>;
  }

  private async request<S extends z.ZodType>(pattern: string, data: unknown, schema: S): Promise<z.output<S>> {
    let raw: unknown;
    try {
      raw = await firstValueFrom(this.client.send<unknown>(pattern, this.record(data)).pipe(timeout({ first: this.options.timeoutMs })));
    } catch (error) {
      // The original events-service throws NotFoundException for an unknown event: over the wire an
      // RPC error { statusCode: 404 }. That is an answer ("no such event"), not an outage.
      if (!isNotFoundError(error)) {
        this.logger.warn(`${pattern} ${JSON.stringify(data)}: no answer (${error instanceof Error ? error.name + ': ' + error.message : String(error)})`);
        throw new LockError('EVENTS_UNAVAILABLE');
      }
      raw = null;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      this.logger.warn(`${pattern} ${JSON.stringify(data)}: malformed answer (${parsed.error.issues[0]?.message ?? 'invalid'})`);
      throw new LockError('EVENTS_UNAVAILABLE');
    }
    return parsed.data;
  }

  private prune(now: number): void {
    for (const [key, entry] of this.answers) if (entry.expiresAt <= now) this.answers.delete(key);
  }
}

/** A category the seat maps name becomes reserved: its total is its sellable seats. */
function withSeats(category: CategoryInfo, seats: Map<string, { layout: SeatLayout }>): CategoryInfo {
  const map = seats.get(idKey(category.categoryId));
  return map ? { ...category, totalTickets: sellableSeats(map.layout), seats: map.layout } : category;
}

type ReplyCategory = NonNullable<EventsCategoriesReply>[number];

function categoryInfo(category: ReplyCategory): CategoryInfo {
  return {
    categoryId: category.categoryId,
    totalTickets: category.totalTickets,
    ...(category.name === undefined ? {} : { name: category.name }),
    ...('soldTickets' in category && category.soldTickets !== undefined ? { soldTickets: category.soldTickets } : {}),
  };
}

/** The active categories, each id once (the first wins). */
function uniqueCategories(reply: NonNullable<EventsCategoriesReply>): CategoryInfo[] {
  const seen = new Set<string>();
  const categories: CategoryInfo[] = [];
  for (const category of reply) {
    const key = idKey(category.categoryId);
    if (seen.has(key) || 'inactive' in category) continue;
    seen.add(key);
    categories.push(categoryInfo(category));
  }
  return categories;
}

/** A Nest RPC error carrying HTTP 404 (`{ statusCode: 404, … }`, as the original's exception filter sends it). */
function isNotFoundError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: unknown }).statusCode === 404;
}
