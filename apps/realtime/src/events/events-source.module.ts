import { Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { loadCatalogFile } from '#contracts';
import { LockStoreModule } from '../locks/lock-store.module.js';
import { AVAILABILITY_SOURCE, type AvailabilitySource } from './availability-source.js';
import { CatalogGuard } from './catalog-guard.js';
import { CatalogSource } from './catalog-source.js';
import { RmqEventsSource } from './rmq-events-source.js';
import { TcpEventsSource } from './tcp-events-source.js';

/** Binds the {@link AvailabilitySource} chosen by `EVENTS_SOURCE` and defines its events at start-up. */
@Module({
  imports: [LockStoreModule],
  providers: [
    {
      provide: AVAILABILITY_SOURCE,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<AvailabilitySource> => {
        if (config.eventsSource === 'tcp' && config.eventsTcp) {
          return new TcpEventsSource({ ...config.eventsTcp, timeoutMs: config.eventsTimeoutMs });
        }
        if (config.eventsSource === 'rabbitmq' && config.rabbitmqUrl) {
          return new RmqEventsSource({ url: config.rabbitmqUrl, queue: config.eventsQueue, timeoutMs: config.eventsTimeoutMs });
        }
        return new CatalogSource(await loadCatalogFile(config.catalogFile));
      },
    },
    CatalogGuard,
  ],
  exports: [AVAILABILITY_SOURCE, CatalogGuard],
})
export class EventsSourceModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EventsSource');

  constructor(
    @Inject(AVAILABILITY_SOURCE) private readonly source: AvailabilitySource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly catalog: CatalogGuard,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The catalog is the truth for its totals: a changed file wins over what Redis remembers.
    const count = await this.catalog.define();
    this.catalog.watch();
    if (!this.source.lazy) {
      this.logger.log(`catalog ${this.config.catalogFile}: ${count} event(s) defined`);
    } else if (this.config.eventsTcp && this.config.eventsSource === 'tcp') {
      const { host, port } = this.config.eventsTcp;
      this.logger.log(`events and categories come from the Events service over Nest TCP at ${host}:${port}, asked once each`);
    } else {
      this.logger.log(`events and categories come from the Events service on queue ${this.config.eventsQueue}, asked once each`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.source.close?.();
  }
}
