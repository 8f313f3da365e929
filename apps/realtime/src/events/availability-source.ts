import type { CatalogId, CategoryInfo, EventInfo } from '#lock-domain';

/** DI token for the {@link AvailabilitySource}. */
export const AVAILABILITY_SOURCE = Symbol('AVAILABILITY_SOURCE');

/**
 * Where category capacities come from: the catalog file, or the Events service over RabbitMQ.
 * Asked only when the store does not know an event or category yet, never on the lock hot path.
 */
export interface AvailabilitySource {
  /** Events to define in the store at start-up (the whole catalog; none for a lazy source). */
  initialEvents(): Promise<EventInfo[]>;
  /** An event with every category, or null when there is no such event. */
  fetchEvent(eventId: CatalogId): Promise<EventInfo | null>;
  /** One category, or null when there is no such category (or event). */
  fetchCategory(eventId: CatalogId, categoryId: CatalogId): Promise<CategoryInfo | null>;
  /**
   * One category read afresh (no cached answer), after an order changed it (`order-completed`,
   * `order-cancelled`) or its size changed (`inventory-changed`). Absent: fetchCategory serves.
   */
  refetchCategory?(eventId: CatalogId, categoryId: CatalogId): Promise<CategoryInfo | null>;
  /** Whether the Events service is the sales ledger for this event (its answers carry sold counts). */
  isLedger?(eventId: CatalogId): boolean;
  /** Whether fetchEvent/fetchCategory can learn anything the start-up did not define. */
  readonly lazy: boolean;
  /** Releases connections (the RabbitMQ client), at shutdown. */
  close?(): Promise<void>;
}
