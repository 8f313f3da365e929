import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '#config';
import { LOCK_STORE, type LockStore } from '#lock-domain';
import { withTimeout } from '../common/with-timeout.js';
import { CatalogGuard } from '../events/catalog-guard.js';

/** A dependency that `/ready` checks; modules register theirs (RabbitMQ adds one). */
export type ReadinessCheck = () => Promise<boolean>;

const CHECK_TIMEOUT_MS = 1000;

@Injectable()
export class ReadinessService implements OnModuleDestroy {
  private readonly checks = new Map<string, ReadinessCheck>();
  /**
   * Redis is pinged on a connection of its own: on the store's connection a PING waits behind
   * whatever scripts are queued there, so a slow script (or writes paused by a failover) would
   * read as "Redis down" when it answers; the catalog check below still uses the store's.
   */
  private readonly pinger: Redis | undefined;

  constructor(@Inject(LOCK_STORE) store: LockStore, @Inject(APP_CONFIG) config: AppConfig, catalog: CatalogGuard) {
    if (config.redisUrl) {
      const pinger = new Redis(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000 });
      pinger.on('error', () => undefined); // the check says down; the store's connection logs outages
      this.pinger = pinger;
    }
    // Named after what an operator would go and fix.
    this.checks.set(config.redisUrl ? 'redis' : 'store', () => (this.pinger ? this.ping(this.pinger) : store.ping()));
    // Redis that came back empty answers pings but cannot serve: down until the catalog is restored.
    if (config.redisUrl) this.checks.set('catalog', () => catalog.present());
  }

  onModuleDestroy(): void {
    this.pinger?.disconnect();
  }

  private async ping(redis: Redis): Promise<boolean> {
    if (redis.status === 'wait') await redis.connect();
    return (await redis.ping()) === 'PONG';
  }

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Each check answers `up` or `down` within a bounded time, never hangs `/ready`. */
  async check(): Promise<Record<string, 'up' | 'down'>> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, (await withTimeout(check().catch(() => false), CHECK_TIMEOUT_MS, false)) ? 'up' : 'down'] as const),
    );
    return Object.fromEntries(entries);
  }
}
