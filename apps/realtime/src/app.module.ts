import { type DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ConfigModule, type AppConfig } from '#config';
import { DemoModule } from './demo/demo.module.js';
import { GatewayModule } from './gateway/gateway.module.js';
import { HealthModule } from './health/health.module.js';
import { HttpApiModule } from './http/http.module.js';
import { LocksModule } from './locks/locks.module.js';
import { MqttModule } from './mqtt/mqtt.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { RmqModule } from './rmq/rmq.module.js';
import { ShutdownModule } from './shutdown/shutdown.module.js';
import { ShutdownStepsModule } from './shutdown/shutdown-steps.js';

@Module({})
export class AppModule {
  /** The whole service for one parsed configuration (tests build it with their own). */
  static forRoot(config: AppConfig, instanceId: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(instanceId),
        ScheduleModule.forRoot(),
        // First: every module may declare its shutdown steps.
        ShutdownStepsModule,
        LocksModule,
        HealthModule,
        GatewayModule,
        HttpApiModule,
        DemoModule,
        // A no-op without MQTT_URL.
        MqttModule,
        ShutdownModule,
        // The RabbitMQ transport and lifecycle events exist only with RABBITMQ_URL.
        ...(config.rabbitmqUrl ? [RmqModule] : []),
      ],
    };
  }
}
