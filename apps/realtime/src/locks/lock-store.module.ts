import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '#config';
import { LOCK_CHANGE_FEED, LOCK_STORE, WAITING_ROOM_STORE, type LockChangeFeed, type LockStore, type WaitingRoomStore } from '#lock-domain';
import { InProcessLockStore, InProcessWaitingRoom, RedisLockChangeFeed, RedisLockStore, RedisWaitingRoom, watchOutages } from '#lock-store';
import { INSTANCE_ID } from '../observability/instance-id.js';
import { Metrics } from '../observability/metrics.js';
import { redactUrl } from '../common/redact-url.js';

/** DI token for the shared ioredis connection (absent in zero-configuration mode). */
export const REDIS = Symbol('REDIS');

/**
 * Zero-configuration mode: the in-process lock store and waiting rooms, made together because the
 * lock store consults the rooms inside its own atomic step (ADMISSION_REQUIRED, confirm ends an
 * admission) and the rooms ask the lock store whether an event sold out. `null` with Redis.
 */
const IN_PROCESS_STORES = Symbol('IN_PROCESS_STORES');
interface InProcessStores {
  locks: InProcessLockStore;
  rooms: InProcessWaitingRoom;
}

/**
 * Binds {@link LOCK_STORE}: the Redis store when `REDIS_URL` is set, else the in-process store
 * (zero-configuration mode, one instance only). With Redis, {@link LOCK_CHANGE_FEED} brings the
 * changes other instances make (their scripts announce them); without, it is `null`.
 */
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG, Metrics],
      useFactory: async (config: AppConfig, metrics: Metrics): Promise<Redis | null> => {
        if (!config.redisUrl) return null;
        const redis = new Redis(config.redisUrl, {
          lazyConnect: true,
          // While Redis is away a request fails at once (INTERNAL_ERROR, retryable) instead of
          // waiting in an unbounded offline queue; a hung connection fails after commandTimeout.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          commandTimeout: 2000,
          connectTimeout: 5000,
          // Keep trying to come back, at most every 2 s.
          retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
          // No auto-pipelining: each socket message arrives in its own turn of the event loop, so the
          // batch it would write is one command, and its Pipeline bookkeeping was pure cost (~12 µs
          // per lock+unlock pair in the bench profile).
        });
        const logger = new Logger('Redis');
        watchOutages(redis, {
          error: () => metrics.redisErrors.inc(),
          down: (error) => logger.error(`Redis connection lost: ${error.message}`),
          up: () => logger.log('Redis connection restored'),
        });
        // Connected before anything is served: the catalog is defined at start-up (a Redis that is
        // away at start stops the start; one that goes away later only fails requests meanwhile).
        await redis.connect();
        return redis;
      },
    },
    {
      provide: IN_PROCESS_STORES,
      inject: [APP_CONFIG, REDIS],
      useFactory: (config: AppConfig, redis: Redis | null): InProcessStores | null => {
        if (redis) return null;
        const ref: { locks?: InProcessLockStore } = {};
        const rooms = new InProcessWaitingRoom({ soldOut: (eventKey) => ref.locks?.isSoldOut(eventKey) ?? false,
    catalogId: (eventKey) => ref.locks?.catalogIdOf(eventKey),
  });
        const locks = new InProcessLockStore(config.lock, Date.now, rooms);
        ref.locks = locks;
        return { locks, rooms };
      },
    },
    {
      // The rooms live under the lock store's hash tag: its lock script reads admissions (CONTRACT §7).
      provide: WAITING_ROOM_STORE,
      inject: [APP_CONFIG, REDIS, IN_PROCESS_STORES],
      useFactory: (config: AppConfig, redis: Redis | null, inProcess: InProcessStores | null): WaitingRoomStore =>
        inProcess?.rooms ?? new RedisWaitingRoom({ redis: redis as Redis, keyPrefix: config.redisKeyPrefix }),
    },
    {
      provide: LOCK_STORE,
      inject: [APP_CONFIG, REDIS, INSTANCE_ID, IN_PROCESS_STORES],
      useFactory: (config: AppConfig, redis: Redis | null, instanceId: string, inProcess: InProcessStores | null): LockStore => {
        const logger = new Logger('LockStore');
        if (redis) {
          logger.log(`Redis lock store at ${redactUrl(config.redisUrl ?? '')}`);
          return new RedisLockStore({
            redis,
            policy: config.lock,
            keyPrefix: config.redisKeyPrefix,
            outbox: config.rabbitmqUrl !== undefined,
            origin: instanceId,
          });
        }
        logger.warn('REDIS_URL is not set: in-process lock store (zero-configuration mode, single instance only)');
        return inProcess?.locks ?? new InProcessLockStore(config.lock);
      },
    },
    {
      provide: LOCK_CHANGE_FEED,
      inject: [APP_CONFIG, REDIS, INSTANCE_ID],
      useFactory: (config: AppConfig, redis: Redis | null, instanceId: string): LockChangeFeed | null => {
        if (!redis) return null;
        const logger = new Logger('LockChangeFeed');
        return new RedisLockChangeFeed({
          redis,
          keyPrefix: config.redisKeyPrefix,
          origin: instanceId,
          onError: (error) => logger.warn(`change feed: ${error.message}`),
        });
      },
    },
  ],
  exports: [LOCK_STORE, LOCK_CHANGE_FEED, REDIS, WAITING_ROOM_STORE],
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
