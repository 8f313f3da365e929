import { Module, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { GatewayModule } from '../gateway/gateway.module.js';
import { HealthModule } from '../health/health.module.js';
import { HttpApiModule } from '../http/http.module.js';
import { ReadinessService } from '../health/readiness.service.js';
import { LocksModule } from '../locks/locks.module.js';
import { MqttModule } from '../mqtt/mqtt.module.js';
import { LifecycleModule } from '../lifecycle/lifecycle.module.js';
import { LifecycleRelays } from '../lifecycle/lifecycle-relays.js';
import { RabbitLifecycleSink } from './rabbit-lifecycle.sink.js';
import { RMQ_DRAIN_MS, RealtimeRmqServer } from './realtime-rmq.server.js';
import { RmqController } from './rmq.controller.js';
import { WaitingRoomRmqController } from './waiting-room-rmq.controller.js';
import { Metrics } from '../observability/metrics.js';
import { ShutdownSteps } from '../shutdown/shutdown-steps.js';

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
  imports: [LocksModule, GatewayModule, HealthModule, HttpApiModule, LifecycleModule, MqttModule],
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
    {
      provide: RabbitLifecycleSink,
      inject: [APP_CONFIG, Metrics, LifecycleRelays],
      useFactory: (config: AppConfig, metrics: Metrics, relays: LifecycleRelays) =>
        new RabbitLifecycleSink({
          url: requireUrl(config),
          exchange: config.lockEventsExchange,
          onPublished: (count) => metrics.lifecyclePublished.inc(count),
          onReconnect: () => relays.wake('rabbitmq'),
        }),
    },
  ],
  exports: [RealtimeRmqServer],
})
export class RmqModule implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    private readonly server: RealtimeRmqServer,
    private readonly lifecycleSink: RabbitLifecycleSink,
    private readonly relays: LifecycleRelays,
    private readonly readiness: ReadinessService,
    private readonly shutdown: ShutdownSteps,
  ) {}

  onModuleInit(): void {
    this.relays.register(this.lifecycleSink);
    // Cancel the consumer and finish the messages in progress (what is not acked is redelivered to another instance).
    this.shutdown.register({ name: 'rabbitmq: stop consuming', phase: 'stop-consumers', run: () => this.server.drain(RMQ_DRAIN_MS) });
    // After the relays sent their last batch (flush): what is still unconfirmed stays in the outbox.
    this.shutdown.register({ name: 'rabbitmq: close the lifecycle sink', phase: 'close-transports', run: () => this.lifecycleSink.close() });
  }

  onApplicationBootstrap(): void {
    this.readiness.register('rabbitmq', async () => this.server.isConsuming() && this.lifecycleSink.connected());
  }
}

function requireUrl(config: AppConfig): string {
  if (!config.rabbitmqUrl) throw new Error('RmqModule needs RABBITMQ_URL');
  return config.rabbitmqUrl;
}
