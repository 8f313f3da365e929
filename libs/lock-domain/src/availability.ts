import type { CatalogId } from './ids.js';
import type { SeatLayout } from './seats.js';

/** One category's counts, as pushed in `availability-update` (CONTRACT §2). */
export interface Availability {
  eventId: CatalogId;
  categoryId: CatalogId;
  totalTickets: number;
  availableTickets: number;
  lockedTickets: number;
  soldTickets: number;
  /** Rises with every change of this category's counts; clients drop older updates. */
  version: number;
  /** ISO 8601 time the counts were read. */
  timestamp: string;
}

/** `available = total − sold − locked`, never negative (capacity may shrink below what is held). */
export function availableTickets(total: number, sold: number, locked: number): number {
  return Math.max(0, total - sold - locked);
}

/** A category as a catalog (the catalog file or the Events service) describes it. */
export interface CategoryInfo {
  categoryId: CatalogId;
  name?: string;
  /** For a reserved category: its number of sellable (not blocked) seats. */
  totalTickets: number;
  /** A reserved category's seat map (CONTRACT §6); absent for general admission. */
  seats?: SeatLayout;
  /** Set by `LockStore.events()` on reserved categories (the layout itself is read with `seatMap`). */
  reserved?: true;
  /**
   * Sold tickets according to an Events service that is the sales ledger (the original
   * events-service's `reservedSeats`); absent when this service counts sales itself.
   */
  soldTickets?: number;
}

export interface EventInfo {
  id: CatalogId;
  name?: string;
  categories: CategoryInfo[];
}
