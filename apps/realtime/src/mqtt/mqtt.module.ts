import { Inject, Module, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { LifecycleModule } from '../lifecycle/lifecycle.module.js';
import { LifecycleRelays } from '../lifecycle/lifecycle-relays.js';
import { LocksModule } from '../locks/locks.module.js';
import { ShutdownSteps } from '../shutdown/shutdown-steps.js';
import { WaitingRoomModule } from '../waiting-room/waiting-room.module.js';
import { MqttBridge } from './mqtt-bridge.js';
import { MqttLifecycleSink } from './mqtt-lifecycle.sink.js';

/**
 * The MQTT bridge (CONTRACT §8). Always imported, so other modules can call {@link MqttBridge}
 * unconditionally; without `MQTT_URL` it connects nowhere and does nothing.
 */
@Module({
  imports: [LocksModule, WaitingRoomModule, LifecycleModule],
  providers: [MqttBridge],
  exports: [MqttBridge],
})
export class MqttModule implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    private readonly bridge: MqttBridge,
    private readonly relays: LifecycleRelays,
    private readonly shutdown: ShutdownSteps,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const link = this.bridge.link;
    if (!link) return;
    // booking/confirm for confirms: from the outbox like ticket-lock.confirmed (confirms only come over RabbitMQ,
    // and the store keeps the outbox only with it).
    if (this.config.rabbitmqUrl) {
      this.relays.register(new MqttLifecycleSink(link));
      this.bridge.onReconnect(() => this.relays.wake(MqttLifecycleSink.NAME));
    }
    // After the lifecycle relays' last batches (flush): the buffer goes out, the publisher lease is handed over.
    this.shutdown.register({ name: 'mqtt: close the broker link', phase: 'close-transports', run: () => this.bridge.stop() });
  }

  onApplicationBootstrap(): void {
    this.bridge.start();
  }
}
