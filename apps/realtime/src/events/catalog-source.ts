import { idKey, type CatalogId, type CategoryInfo, type EventInfo } from '#lock-domain';
import type { AvailabilitySource } from './availability-source.js';

/** `EVENTS_SOURCE=catalog`: the catalog file, read once at start-up, defines everything. */
export class CatalogSource implements AvailabilitySource {
  readonly lazy = false;

  constructor(private readonly events: EventInfo[]) {}

  async initialEvents(): Promise<EventInfo[]> {
    return this.events;
  }

  async fetchEvent(eventId: CatalogId): Promise<EventInfo | null> {
    return this.events.find((e) => idKey(e.id) === idKey(eventId)) ?? null;
  }

  async fetchCategory(eventId: CatalogId, categoryId: CatalogId): Promise<CategoryInfo | null> {
    const event = await this.fetchEvent(eventId);
    return event?.categories.find((c) => idKey(c.categoryId) === idKey(categoryId)) ?? null;
  }
}
