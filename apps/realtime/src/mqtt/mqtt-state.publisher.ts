import { Logger } from '@nestjs/common';
import { idKey, type Availability, type CatalogId, type LockChangeFeed, type LockChanges, type SeatDelta, type SeatStatus } from '#lock-domain';
import { errorMessage } from '../common/error-message.js';
import type { LeaderLease } from './leader-lease.js';
import type { MqttLink } from './mqtt-link.js';
import { TOPICS, mqttSeatStatus, showingVersion, type QueuePosition, type SeatSnapshot, type SeatStatusMessage, type ShowingUpdate } from './mqtt-topics.js';
import { Throttle } from './throttle.js';

/** One event's seat statuses at one seat version, as the store answers `seatMap`. */
export interface SeatStatuses {
  version: number;
  seats: Array<{ seatId: string; status: SeatStatus }>;
}

/** A waiting room's progress (CONTRACT §7) as `queue/position` carries it. */
export interface QueueProgress {
  eventId: CatalogId;
  servingPosition: number;
  queueLength: number;
  /** Rises with every change of the room. */
  version: number;
}

/** What the publisher reads from the store: always the latest committed state. */
export interface MqttStateSource {
  /** Every event the store knows, with its categories' counts. */
  events(): Promise<Array<{ eventId: CatalogId; availability: Availability[]; reserved: boolean }>>;
  eventAvailability(eventId: CatalogId): Promise<Availability[]>;
  /** An event's seat statuses; null when it has no reserved category. */
  seatStatuses(eventId: CatalogId): Promise<SeatStatuses | null>;
  /** Every waiting room's progress (§7); read once a second while leading (one store read for all rooms). */
  queues(): Promise<QueueProgress[]>;
}

/** Options of the {@link MqttStatePublisher}. */
export interface MqttStatePublisherOptions {
  link: MqttLink;
  source: MqttStateSource;
  /** The cluster-wide lease: only its holder publishes state topics. */
  lease: LeaderLease;
  /** The other instances' changes; null without Redis (a single instance). */
  feed: LockChangeFeed | null;
  /** This instance, as lease owner. */
  owner: string;
  /** `BROADCAST_INTERVAL_MS`: `showing/update` coalescing per event. */
  broadcastIntervalMs: number;
  /** `seats/snapshot` at most once per this many ms per event. Default 1000. */
  snapshotIntervalMs?: number;
  /** Lease renewal period; the lease lives 5 × this. Default 1000. */
  leaseTickMs?: number;
  /** Monotonic clock in ms for the coalescing; `performance.now` by default. */
  now?: () => number;
  /** Told when this instance starts or stops publishing (metrics). */
  onLeading?: (leading: boolean) => void;
}

interface Showing {
  eventId: CatalogId;
  categories: Map<string, Availability>;
  /** False until the event's every category was read once (a partial list is never published). */
  loaded: boolean;
  /** A read of its categories is under way. */
  loading: boolean;
  /** Version of the last `showing/update` sent. */
  published: number;
}

/**
 * Mirrors committed changes to the retained and per-change state topics of CONTRACT §8
 * (`showing/update`, `seats/status`, `seats/snapshot`), whichever instance, socket, RabbitMQ message
 * or sweep made them.
 *
 * **One publisher for the cluster.** Every instance sees every change (its own through the changes
 * bus, the others' through the store's change feed), so if each published, subscribers would get
 * every message N times and retained topics could go back in time (two instances racing to the
 * broker). Instead the holder of a Redis lease publishes; the others stay quiet. The holder
 * subscribes to the change feed only while it holds the lease, and every time it takes the lease
 * (or its broker connection or feed comes back) it reads the latest state from the store and
 * republishes the retained topics: the store's versions only rise, so what it publishes is never
 * older than what anyone published before. Within its tenure, a version check per topic (per seat
 * for `seats/status`) drops a change that arrives after a newer one.
 *
 * A broker outage: the lease is given up while the link is down (an instance that still reaches the
 * broker may take over); on reconnection the state is read and republished. Nothing here is on the
 * lock path: lock handlers only hand their changes to the bus, which calls {@link offer} synchronously.
 */
export class MqttStatePublisher {
  private readonly logger = new Logger('MqttState');
  private readonly showings = new Map<string, Showing>();
  private readonly seatVersions = new Map<string, Map<string, number>>();
  private readonly snapshotVersions = new Map<string, number>();
  private readonly queueVersions = new Map<string, number>();
  private queueReading = false;
  private readonly eventIds = new Map<string, CatalogId>();
  private readonly showingThrottle: Throttle;
  private readonly snapshotThrottle: Throttle;
  private readonly leaseTickMs: number;
  private leading = false;
  /** Rises with every tenure, so work started in an older one is dropped. */
  private tenure = 0;
  private ticker: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopFeed: (() => Promise<void>) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: MqttStatePublisherOptions) {
    this.leaseTickMs = options.leaseTickMs ?? 1000;
    const now = options.now;
    this.showingThrottle = new Throttle({ intervalMs: options.broadcastIntervalMs, run: (key) => this.publishShowing(key), ...(now ? { now } : {}) });
    this.snapshotThrottle = new Throttle({ intervalMs: options.snapshotIntervalMs ?? 1000, run: (key) => this.publishSnapshot(key), ...(now ? { now } : {}) });
  }

  start(): void {
    this.ticker = setInterval(() => this.tick(), this.leaseTickMs);
    this.ticker.unref();
    this.tick();
  }

  /** Whether this instance publishes now. */
  get isLeading(): boolean {
    return this.leading;
  }

  /** The broker connection came back: take the lease (or renew it) and republish at once. */
  linkUp(): void {
    this.tick();
  }

  /** The broker connection is gone: step down, so an instance that still reaches it can lead. */
  linkDown(): void {
    if (this.leading) this.stepDown(true);
  }

  /** A committed change (this instance's, from the bus; other instances', from the feed while leading). */
  offer(changes: LockChanges): void {
    if (!this.leading) return;
    for (const availability of changes.availability) this.offerAvailability(availability);
    if (changes.seats) for (const delta of changes.seats) this.offerSeats(delta);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    await this.ticking;
    if (this.leading) this.stepDown(true);
    await this.stopFeed?.();
    this.stopFeed = undefined;
  }

  private tick(): void {
    if (this.ticking || this.stopped) return;
    this.ticking = this.renew().finally(() => {
      this.ticking = undefined;
    });
  }

  private async renew(): Promise<void> {
    const { link, lease, owner } = this.options;
    if (!link.connected) {
      if (this.leading) this.stepDown(true);
      return;
    }
    let held: boolean;
    try {
      held = await lease.hold(owner, this.leaseTickMs * 5);
    } catch (error) {
      // Redis away: the lease may expire meanwhile, so stop publishing until it is renewed.
      if (this.leading) this.logger.warn(`MQTT publisher lease not renewed: ${errorMessage(error)}`);
      held = false;
    }
    if (held && !this.leading && !this.stopped) await this.stepUp();
    else if (!held && this.leading) this.stepDown(false);
    if (this.leading) this.publishQueues();
  }

  private async stepUp(): Promise<void> {
    this.leading = true;
    this.options.onLeading?.(true);
    const tenure = ++this.tenure;
    this.logger.log('publishing MQTT state topics for the cluster');
    if (this.options.feed && !this.stopFeed) {
      try {
        const stop = await this.options.feed.subscribe({ changes: (changes) => this.offer(changes), gap: () => this.resync(tenure) });
        if (tenure !== this.tenure) {
          await stop();
          return;
        }
        this.stopFeed = stop;
      } catch (error) {
        this.logger.warn(`MQTT publisher could not follow the change feed: ${errorMessage(error)}`);
        this.stepDown(true);
        return;
      }
    }
    // Subscribed first, read second: nothing committed in between is missed.
    this.resync(tenure);
  }

  private stepDown(dropLease: boolean): void {
    this.leading = false;
    this.options.onLeading?.(false);
    this.tenure++;
    this.showingThrottle.clear();
    this.snapshotThrottle.clear();
    this.showings.clear();
    this.seatVersions.clear();
    this.snapshotVersions.clear();
    this.queueVersions.clear();
    this.options.link.dropState();
    clearTimeout(this.resyncTimer);
    const stop = this.stopFeed;
    this.stopFeed = undefined;
    if (stop) void stop().catch(() => undefined);
    if (dropLease) void this.options.lease.drop(this.options.owner).catch(() => undefined);
  }

  /** Reads every event's latest state and republishes the retained topics (retried until it works). */
  private resync(tenure: number): void {
    clearTimeout(this.resyncTimer);
    this.options.source.events().then(
      (events) => {
        if (tenure !== this.tenure) return;
        for (const { eventId, availability, reserved } of events) {
          const showing = this.showing(eventId);
          showing.loaded = true;
          for (const category of availability) this.merge(showing, category);
          this.showingThrottle.touch(idKey(eventId));
          if (reserved) this.snapshotThrottle.touch(idKey(eventId));
        }
      },
      (error: unknown) => {
        if (tenure !== this.tenure) return;
        this.logger.warn(`MQTT state not read, retrying: ${errorMessage(error)}`);
        this.resyncTimer = setTimeout(() => this.resync(tenure), this.leaseTickMs);
        this.resyncTimer.unref();
      },
    );
  }

  /**
   * `queue/position` for the rooms whose progress moved: polled with the lease, once a second (the
   * admitter changes rooms at most once a second, CONTRACT §7), one store read for every room.
   */
  private publishQueues(): void {
    if (this.queueReading) return;
    this.queueReading = true;
    const tenure = this.tenure;
    this.options.source.queues().then(
      (rooms) => {
        this.queueReading = false;
        if (tenure !== this.tenure) return;
        const timestamp = new Date().toISOString();
        for (const room of rooms) {
          const key = idKey(room.eventId);
          if (room.version <= (this.queueVersions.get(key) ?? -Infinity)) continue;
          this.queueVersions.set(key, room.version);
          const message: QueuePosition = { event_id: room.eventId, serving_position: room.servingPosition, queue_length: room.queueLength, timestamp };
          this.options.link.send(TOPICS.queuePosition(room.eventId), message, { retain: true, kind: 'state' });
        }
      },
      (error: unknown) => {
        this.queueReading = false;
        this.logger.debug(`waiting rooms not read for MQTT: ${errorMessage(error)}`);
      },
    );
  }

  private offerAvailability(availability: Availability): void {
    const key = idKey(availability.eventId);
    const showing = this.showing(availability.eventId);
    this.merge(showing, availability);
    if (showing.loaded) {
      this.showingThrottle.touch(key);
      return;
    }
    if (showing.loading) return;
    // First change of an event this tenure: its other categories are read once, then it is published.
    showing.loading = true;
    const tenure = this.tenure;
    this.options.source.eventAvailability(availability.eventId).then(
      (list) => {
        if (tenure !== this.tenure) return;
        showing.loading = false;
        showing.loaded = true;
        for (const category of list) this.merge(showing, category);
        this.showingThrottle.touch(key);
      },
      (error: unknown) => {
        showing.loading = false;
        this.logger.warn(`counts of event ${key} not read for MQTT: ${errorMessage(error)}`);
      },
    );
  }

  private offerSeats(delta: SeatDelta): void {
    const key = idKey(delta.eventId);
    this.eventIds.set(key, delta.eventId);
    let versions = this.seatVersions.get(key);
    if (!versions) {
      versions = new Map<string, number>();
      this.seatVersions.set(key, versions);
    }
    const timestamp = new Date().toISOString();
    for (const change of delta.changes) {
      if ((versions.get(change.seatId) ?? -Infinity) >= delta.version) continue;
      versions.set(change.seatId, delta.version);
      const message: SeatStatusMessage = {
        showing_id: delta.eventId,
        seat_id: change.seatId,
        status: mqttSeatStatus(change.status),
        version: delta.version,
        timestamp,
      };
      this.options.link.send(TOPICS.seatStatus(delta.eventId), message, { kind: 'state' });
    }
    this.snapshotThrottle.touch(key);
  }

  private showing(eventId: CatalogId): Showing {
    const key = idKey(eventId);
    this.eventIds.set(key, eventId);
    let showing = this.showings.get(key);
    if (!showing) {
      showing = { eventId, categories: new Map(), loaded: false, loading: false, published: -Infinity };
      this.showings.set(key, showing);
    }
    return showing;
  }

  private merge(showing: Showing, availability: Availability): void {
    const key = idKey(availability.categoryId);
    const known = showing.categories.get(key);
    if (!known || known.version < availability.version) showing.categories.set(key, availability);
  }

  private publishShowing(key: string): void {
    const showing = this.showings.get(key);
    if (!showing?.loaded || !this.leading) return;
    const categories = [...showing.categories.values()];
    const version = showingVersion(categories);
    if (version <= showing.published) return;
    showing.published = version;
    const message: ShowingUpdate = { showing_id: showing.eventId, version, categories, timestamp: new Date().toISOString() };
    this.options.link.send(TOPICS.showingUpdate(showing.eventId), message, { retain: true, kind: 'state' });
  }

  private publishSnapshot(key: string): void {
    const eventId = this.eventIds.get(key);
    if (eventId === undefined || !this.leading) return;
    const tenure = this.tenure;
    this.options.source.seatStatuses(eventId).then(
      (statuses) => {
        if (!statuses || tenure !== this.tenure) return;
        if (statuses.version <= (this.snapshotVersions.get(key) ?? -Infinity)) return;
        this.snapshotVersions.set(key, statuses.version);
        const seats: SeatSnapshot['seats'] = {};
        for (const { seatId, status } of statuses.seats) {
          const mapped = mqttSeatStatus(status);
          if (mapped !== 'available') seats[seatId] = mapped;
        }
        const message: SeatSnapshot = { showing_id: eventId, version: statuses.version, seats };
        this.options.link.send(TOPICS.seatSnapshot(eventId), message, { retain: true, kind: 'state' });
      },
      (error: unknown) => this.logger.warn(`seat snapshot of event ${key} not read for MQTT: ${errorMessage(error)}`),
    );
  }
}
