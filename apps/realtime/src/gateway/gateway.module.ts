import { Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '#config';
import { REDIS } from '../locks/lock-store.module.js';
import { LocksModule } from '../locks/locks.module.js';
import { ConnectionStats } from './connection-stats.js';
import { DisconnectGrace } from './disconnect-grace.js';
import { GatewayShutdown } from './gateway-shutdown.js';
import { LockChangesRelay } from './lock-changes.relay.js';
import { InProcessRateLimiter } from './rate-limit/in-process-rate-limiter.js';
import { RATE_LIMITER, type RateLimiter } from './rate-limit/rate-limiter.js';
import { RedisRateLimiter } from './rate-limit/redis-rate-limiter.js';
import { RealtimeNamespaceRef } from './realtime-namespace.js';
import { RealtimeGateway } from './realtime.gateway.js';
import { Responder } from './responder.js';
import { TokenExpiryWatch } from './token-expiry-watch.js';
import { WsAuthMiddleware } from './ws-auth.middleware.js';
import { QueueAdmitter } from '../waiting-room/queue-admitter.js';
import { WaitingRoomModule } from '../waiting-room/waiting-room.module.js';

/**
 * The Socket.IO side of the service: the `/realtime` gateway and what pushes to its clients.
 * Install {@link RealtimeIoAdapter} on the application for the transport settings.
 */
@Module({
  imports: [LocksModule, WaitingRoomModule],
  providers: [
    QueueAdmitter,
    RealtimeGateway,
    Responder,
    WsAuthMiddleware,
    TokenExpiryWatch,
    RealtimeNamespaceRef,
    LockChangesRelay,
    DisconnectGrace,
    GatewayShutdown,
    ConnectionStats,
    {
      // `RATE_LIMIT_PER_MINUTE=0` turns the limit off (null: no per-socket middleware at all). With
      // Redis the budget is shared by every instance; alone, it is counted in process.
      provide: RATE_LIMITER,
      inject: [APP_CONFIG, REDIS],
      useFactory: (config: AppConfig, redis: Redis | null): RateLimiter | null => {
        const limit = config.rateLimitPerMinute;
        if (limit <= 0) return null;
        return redis ? new RedisRateLimiter({ redis, keyPrefix: config.redisKeyPrefix, limit }) : new InProcessRateLimiter({ limit });
      },
    },
  ],
  exports: [ConnectionStats, RealtimeNamespaceRef, WaitingRoomModule],
})
export class GatewayModule implements OnModuleDestroy {
  constructor(@Inject(RATE_LIMITER) private readonly limiter: RateLimiter | null) {}

  // Before the lock store module quits the shared Redis connection (onApplicationShutdown).
  async onModuleDestroy(): Promise<void> {
    await this.limiter?.close?.();
  }
}
