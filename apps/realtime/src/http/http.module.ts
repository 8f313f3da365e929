import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module.js';
import { LocksModule } from '../locks/locks.module.js';
import { EventsController } from './events.controller.js';
import { MetricsController } from './metrics.controller.js';
import { StatsController } from './stats.controller.js';
import { StatsService } from './stats.service.js';

/** The HTTP read side on the Socket.IO port: `/stats`, `/events`, `/events/:eventId/availability`, `/metrics`. */
@Module({
  imports: [LocksModule, GatewayModule],
  controllers: [StatsController, EventsController, MetricsController],
  providers: [StatsService],
  exports: [StatsService],
})
export class HttpApiModule {}
