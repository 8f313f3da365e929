import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '#config';
import { LOCK_STORE, type LockStore } from '#lock-domain';
import { catalogMarkerKey } from '#lock-store';
import { REDIS } from '../locks/lock-store.module.js';
import { Metrics } from '../observability/metrics.js';
import { errorMessage } from '../common/error-message.js';
import { AVAILABILITY_SOURCE, type AvailabilitySource } from './availability-source.js';

/** How often the marker is looked at: the longest a lost catalog goes unnoticed. */
const CHECK_MS = 1000;

/**
 * Defines the catalog in the store and keeps it there. Redis may come back empty (a restart
 * without persistence, a failover that lost data, FLUSHDB): every join and lock would then say
 * `EVENT_NOT_FOUND`. So a marker key is written once the catalog is defined; while it is missing
 * `/ready` says 503 (`catalog: down`), and the guard, checking every second, defines the catalog
 * again and writes the marker back: no service restart. A lazy source (the Events service) has
 * nothing to define up front; its events are asked again on first use.
 *
 * Locks and sold counts held only in that Redis are gone with it; nothing here can bring them back.
 */
@Injectable()
export class CatalogGuard implements OnModuleDestroy {
  private readonly logger = new Logger('Catalog');
  private readonly marker: string;
  private timer: NodeJS.Timeout | undefined;
  private restoring: Promise<void> | undefined;

  constructor(
    @Inject(REDIS) private readonly redis: Redis | null,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(AVAILABILITY_SOURCE) private readonly source: AvailabilitySource,
    @Inject(LOCK_STORE) private readonly store: LockStore,
    private readonly metrics: Metrics,
  ) {
    this.marker = catalogMarkerKey(config.redisKeyPrefix);
  }

  /** Defines the source's events (the catalog is the truth for its totals) and marks the store as holding them. */
  async define(): Promise<number> {
    const events = await this.source.initialEvents();
    for (const event of events) await this.store.defineEvent(event, { replaceTotals: true });
    await this.redis?.set(this.marker, new Date().toISOString());
    return events.length;
  }

  /** Starts watching for a store that lost the catalog (only with Redis: the in-process store cannot). */
  watch(): void {
    if (!this.redis || this.timer) return;
    this.timer = setInterval(() => {
      this.check().catch((error: unknown) => this.logger.warn(`catalog check failed: ${errorMessage(error)}`));
    }, CHECK_MS);
    this.timer.unref();
  }

  /** For `/ready`: the store holds the catalog (always, without Redis). */
  async present(): Promise<boolean> {
    if (!this.redis) return true;
    return (await this.redis.exists(this.marker)) === 1;
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at the marker; gone → the catalog is defined again (once at a time). */
  async check(): Promise<void> {
    // While Redis is away there is nothing to look at; /ready already says redis: down.
    if (!this.redis || this.redis.status !== 'ready' || (await this.present())) return;
    this.restoring ??= this.restore().finally(() => {
      this.restoring = undefined;
    });
    await this.restoring;
  }

  private async restore(): Promise<void> {
    this.logger.warn('Redis holds no catalog (it came back empty): defining it again');
    const count = await this.define();
    this.metrics.catalogRestores.inc();
    this.logger.log(`catalog restored: ${count} event(s) defined`);
  }
}
