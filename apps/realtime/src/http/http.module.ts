import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module.js';
import { LocksModule } from '../locks/locks.module.js';
import { EventsController } from './events.controller.js';
import { INSTANCE_ID, createInstanceId } from './instance-id.js';
import { StatsController } from './stats.controller.js';

/** The HTTP read side on the Socket.IO port: `/stats`, `/events`, `/events/:eventId/availability`. */
@Module({
  imports: [LocksModule, GatewayModule],
  controllers: [StatsController, EventsController],
  providers: [{ provide: INSTANCE_ID, useFactory: createInstanceId }],
  exports: [INSTANCE_ID],
})
export class HttpApiModule {}
