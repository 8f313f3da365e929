import { Module } from '@nestjs/common';
import { LocksModule } from '../locks/locks.module.js';
import { LifecycleRelays } from './lifecycle-relays.js';

/**
 * Lock lifecycle events to transports: the outbox, one relay per sink. A transport module imports
 * this module and registers its {@link LifecycleSink} with {@link LifecycleRelays}.
 */
@Module({
  imports: [LocksModule],
  providers: [LifecycleRelays],
  exports: [LifecycleRelays],
})
export class LifecycleModule {}
