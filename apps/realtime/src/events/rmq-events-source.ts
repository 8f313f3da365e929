import { Logger } from '@nestjs/common';
import { ClientRMQ, RmqRecordBuilder } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
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

interface Cached {
  promise: Promise<unknown>;
  /** Infinity while the request is in flight. */
  expiresAt: number;
}

/**
 * `EVENTS_SOURCE=rabbitmq`: asks the Events service over its Nest RMQ queue, the first time an event
 * or category is seen (the lock service then caches the capacities in Redis, so this is never on the
 * lock hot path). Only `totalTickets` is used: sold tickets are counted here, from confirms.
 */
export class RmqEventsSource implements AvailabilitySource {
  readonly lazy = true;
  private readonly logger = new Logger('EventsSource');
  private readonly client: ClientRMQ;
  private readonly answers = new Map<string, Cached>();
  private readonly answerTtlMs: number;

  constructor(private readonly options: RmqEventsSourceOptions) {
    this.answerTtlMs = options.answerTtlMs ?? 5000;
    this.client = new ClientRMQ({
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
      this.ask(`e:${idKey(eventId)}`, EVENTS_PATTERNS.categories, { eventId }, eventsCategoriesReplySchema),
      this.seatMaps(eventId),
    ]);
    if (reply === null) return null;
    const categories = uniqueCategories(reply).map((category) => withSeats(category, seats));
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
    if (reply !== null) {
      if (idKey(reply.categoryId) !== idKey(categoryId)) {
        this.logger.warn(`Events answered category ${idKey(reply.categoryId)} for ${key}`);
        throw new LockError('EVENTS_UNAVAILABLE');
      }
      return withSeats({ categoryId: reply.categoryId, totalTickets: reply.totalTickets, ...(reply.name === undefined ? {} : { name: reply.name }) }, seats);
    }
    // No such category: say CATEGORY_NOT_FOUND when the event itself exists, EVENT_NOT_FOUND otherwise.
    const event = await this.fetchEvent(eventId).catch(() => null);
    if (event) throw new LockError('CATEGORY_NOT_FOUND');
    return null;
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

  /** One request per key at a time; an answer (found or `null`) is reused for a short while. */
  private ask<S extends z.ZodType>(key: string, pattern: string, data: object, schema: S): Promise<z.output<S>> {
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

  private async request<S extends z.ZodType>(pattern: string, data: object, schema: S): Promise<z.output<S>> {
    // Expires in the queue with the caller's patience: a backlog of stale requests is no use to anyone.
    const record = new RmqRecordBuilder(data).setOptions({ expiration: String(this.options.timeoutMs) }).build();
    let raw: unknown;
    try {
      raw = await firstValueFrom(this.client.send<unknown>(pattern, record).pipe(timeout({ first: this.options.timeoutMs })));
    } catch (error) {
      this.logger.warn(`${pattern} ${JSON.stringify(data)}: no answer (${error instanceof Error ? error.name + ': ' + error.message : String(error)})`);
      throw new LockError('EVENTS_UNAVAILABLE');
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

function uniqueCategories(reply: NonNullable<EventsCategoriesReply>): CategoryInfo[] {
  const seen = new Set<string>();
  const categories: CategoryInfo[] = [];
  for (const category of reply) {
    const key = idKey(category.categoryId);
    if (seen.has(key)) continue;
    seen.add(key);
    categories.push({ categoryId: category.categoryId, totalTickets: category.totalTickets, ...(category.name === undefined ? {} : { name: category.name }) });
  }
  return categories;
}
