import { Module } from '@nestjs/common';
import { EventsSourceModule } from '../events/events-source.module.js';
import { LocksModule } from '../locks/locks.module.js';
import { HealthController } from './health.controller.js';
import { ReadinessService } from './readiness.service.js';

@Module({
  imports: [LocksModule, EventsSourceModule],
  controllers: [HealthController],
  providers: [ReadinessService],
  exports: [ReadinessService],
})
export class HealthModule {}
