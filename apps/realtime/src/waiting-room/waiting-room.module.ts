import { Inject, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { loadCatalogWaitingRooms } from '#contracts';
import { LocksModule } from '../locks/locks.module.js';
import { AdmissionTokens } from './admission-tokens.js';
import { WaitingRoomService } from './waiting-room.service.js';

/**
 * Waiting rooms (CONTRACT §7): the use cases and admission tokens. The admitter, which pushes to
 * sockets, is part of the gateway module (queue-admitter.ts). With `EVENTS_SOURCE=catalog`, the
 * catalog file's `"waitingRoom"`s are configured at start (idempotent, so every instance may).
 */
@Module({
  imports: [LocksModule],
  providers: [WaitingRoomService, AdmissionTokens],
  exports: [WaitingRoomService],
})
export class WaitingRoomModule implements OnApplicationBootstrap {
  private readonly logger = new Logger('WaitingRoom');

  constructor(
    private readonly rooms: WaitingRoomService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.eventsSource !== 'catalog') return;
    const configured = await loadCatalogWaitingRooms(this.config.catalogFile);
    for (const { eventId, settings } of configured) {
      try {
        await this.rooms.configure(eventId, settings);
      } catch (error) {
        // A catalog asking for a room the service cannot run stops the start, naming the cause.
        throw new Error(`waiting room of event ${String(eventId)} in ${this.config.catalogFile}: ${(error as Error).message}`, { cause: error });
      }
    }
    if (configured.length > 0) this.logger.log(`catalog: ${configured.length} waiting room(s) configured`);
  }
}
