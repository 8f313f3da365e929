import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '#config';
import { LOCK_STORE, type LockStore } from '#lock-domain';
import { InProcessLockStore, RedisLockStore } from '#lock-store';

/** DI token for the shared ioredis connection (absent in zero-configuration mode). */
export const REDIS = Symbol('REDIS');

/**
 * Binds {@link LOCK_STORE}: the Redis store when `REDIS_URL` is set, else the in-process store
 * (zero-configuration mode, one instance only).
 */
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): Redis | null =>
        config.redisUrl
          ? new Redis(config.redisUrl, {
              // Fail a request fast while Redis is away instead of queueing it without bound.
              maxRetriesPerRequest: 1,
              connectTimeout: 5000,
              lazyConnect: false,
            })
          : null,
    },
    {
      provide: LOCK_STORE,
      inject: [APP_CONFIG, REDIS],
      useFactory: (config: AppConfig, redis: Redis | null): LockStore => {
        const logger = new Logger('LockStore');
        if (redis) {
          logger.log(`Redis lock store at ${redactUrl(config.redisUrl ?? '')}`);
          return new RedisLockStore({
            redis,
            policy: config.lock,
            keyPrefix: config.redisKeyPrefix,
            outbox: config.rabbitmqUrl !== undefined,
          });
        }
        logger.warn('REDIS_URL is not set: in-process lock store (zero-configuration mode, single instance only)');
        return new InProcessLockStore(config.lock);
      },
    },
  ],
  exports: [LOCK_STORE, REDIS],
})
export class LockStoreModule implements OnApplicationShutdown {
  constructor(
    @Inject(LOCK_STORE) private readonly store: LockStore,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    if (this.redis && this.redis.status !== 'end') await this.redis.quit().catch(() => undefined);
  }
}

export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable url)';
  }
}
