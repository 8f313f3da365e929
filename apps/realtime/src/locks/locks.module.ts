import { Module } from '@nestjs/common';
import { ExpiryTimer } from './expiry-timer.js';
import { LockChangesBus } from './lock-changes.js';
import { LockStoreModule } from './lock-store.module.js';
import { LockService } from './lock.service.js';
import { SweepService } from './sweep.service.js';
import { EventsSourceModule } from '../events/events-source.module.js';

@Module({
  imports: [LockStoreModule, EventsSourceModule],
  providers: [LockService, LockChangesBus, ExpiryTimer, SweepService],
  exports: [LockService, LockChangesBus, LockStoreModule, SweepService],
})
export class LocksModule {}
