import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { LOCK_STORE, type LockStore } from '#lock-domain';
import { withTimeout } from '../common/with-timeout.js';
import { CatalogGuard } from '../events/catalog-guard.js';

/** A dependency that `/ready` checks; modules register theirs (RabbitMQ adds one). */
export type ReadinessCheck = () => Promise<boolean>;

const CHECK_TIMEOUT_MS = 1000;

@Injectable()
export class ReadinessService {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(@Inject(LOCK_STORE) store: LockStore, @Inject(APP_CONFIG) config: AppConfig, catalog: CatalogGuard) {
    // Named after what an operator would go and fix.
    this.checks.set(config.redisUrl ? 'redis' : 'store', () => store.ping());
    // Redis that came back empty answers pings but cannot serve: down until the catalog is restored.
    if (config.redisUrl) this.checks.set('catalog', () => catalog.present());
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
