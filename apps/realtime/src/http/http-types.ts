import type { CatalogId, LockStats } from '#lock-domain';

/** `GET /stats` (CONTRACT §3). */
export interface StatsResponse {
  service: 'realtime-service';
  status: 'active';
  instanceId: string;
  uptimeSeconds: number;
  connectedUsers: number;
  connections: number;
  ticketLocks: LockStats;
  waitingRooms: WaitingRoomStats[];
}

/** One waiting room of `GET /stats` (CONTRACT §7). */
export interface WaitingRoomStats {
  eventId: CatalogId;
  queueLength: number;
  activeUsers: number;
  admittedTotal: number;
}

/** One category of `GET /events`. */
export interface CategorySummary {
  categoryId: CatalogId;
  name: string;
  totalTickets: number;
  availableTickets: number;
  lockedTickets: number;
  soldTickets: number;
  /** A reserved category (CONTRACT §6): its seats are at `GET /events/:eventId/seats`. */
  reserved?: true;
}

/** One event of `GET /events`. */
export interface EventSummary {
  id: CatalogId;
  name: string;
  categories: CategorySummary[];
}
