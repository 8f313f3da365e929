import { Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { LocksModule } from '../locks/locks.module.js';
import { WaitingRoomModule } from '../waiting-room/waiting-room.module.js';
import { MqttBridge } from './mqtt-bridge.js';

/**
 * The MQTT bridge (CONTRACT §8). Always imported, so other modules can call {@link MqttBridge}
 * unconditionally; without `MQTT_URL` it connects nowhere and does nothing.
 */
@Module({
  imports: [LocksModule, WaitingRoomModule],
  providers: [MqttBridge],
  exports: [MqttBridge],
})
export class MqttModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(private readonly bridge: MqttBridge) {}

  onApplicationBootstrap(): void {
    this.bridge.start();
  }

  /** Before Redis closes (onApplicationShutdown): the lease is given up and the buffer flushed. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.bridge.stop();
  }
}
