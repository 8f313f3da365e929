import { Inject, Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { GatewayModule } from '../gateway/gateway.module.js';
import { HealthModule } from '../health/health.module.js';
import { HttpApiModule } from '../http/http.module.js';
import { ReadinessService } from '../health/readiness.service.js';
import { LocksModule } from '../locks/locks.module.js';
import { MqttModule } from '../mqtt/mqtt.module.js';
import { LockEventsPublisher } from './lock-events.publisher.js';
import { RMQ_DRAIN_MS, RealtimeRmqServer } from './realtime-rmq.server.js';
import { RmqController } from './rmq.controller.js';
import { WaitingRoomRmqController } from './waiting-room-rmq.controller.js';
import { Metrics } from '../observability/metrics.js';

/** Messages in flight per consumer before the broker waits for acks. */
const PREFETCH = 50;
/**
 * A faulted message is retried after 1 s, 2 s, 4 s … (at most 30 s apart), 10 times (about 3 minutes
 * in all, enough to ride out a Redis failover), then dead-lettered: it can never stall the queue.
 */
const RETRY_POLICY = { maxRetries: 10, baseDelayMs: 1000, maxDelayMs: 30_000 };

/**
 * The RabbitMQ side (imported only when `RABBITMQ_URL` is set): the consumer of `REALTIME_QUEUE`
 * (connect {@link RealtimeRmqServer} to the application with `connectMicroservice`), its handlers,
 * and the lifecycle events publisher.
 */
@Module({
  imports: [LocksModule, GatewayModule, HealthModule, HttpApiModule, MqttModule],
  controllers: [RmqController, WaitingRoomRmqController],
  providers: [
    {
      provide: RealtimeRmqServer,
      inject: [APP_CONFIG, Metrics],
      useFactory: (config: AppConfig, metrics: Metrics) =>
        new RealtimeRmqServer({
          url: requireUrl(config),
          queue: config.realtimeQueue,
          prefetch: PREFETCH,
          retry: RETRY_POLICY,
          onOutcome: (pattern, outcome) => metrics.rmqMessages.inc({ pattern, outcome }),
        }),
    },
    LockEventsPublisher,
  ],
  exports: [RealtimeRmqServer, LockEventsPublisher],
})
export class RmqModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly server: RealtimeRmqServer,
    private readonly lockEvents: LockEventsPublisher,
    private readonly readiness: ReadinessService,
  ) {}

  onApplicationBootstrap(): void {
    this.lockEvents.start(requireUrl(this.config));
    this.readiness.register('rabbitmq', async () => this.server.isConsuming() && this.lockEvents.isConnected());
  }

  /** Before the transport is closed: finish the messages in progress, then flush and stop the relay. */
  async beforeApplicationShutdown(): Promise<void> {
    // Already done when GracefulShutdown drained first (it then finds nothing in flight).
    await this.server.drain(RMQ_DRAIN_MS);
    await this.lockEvents.stop();
  }
}

function requireUrl(config: AppConfig): string {
  if (!config.rabbitmqUrl) throw new Error('RmqModule needs RABBITMQ_URL');
  return config.rabbitmqUrl;
}
