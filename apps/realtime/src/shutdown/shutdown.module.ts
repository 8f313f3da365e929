import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module.js';
import { GracefulShutdown } from './graceful-shutdown.service.js';

/**
 * The graceful shutdown ({@link GracefulShutdown}). Import it from the root module only: importing
 * GatewayModule (which imports LocksModule, which imports the lock store) makes every module the
 * drain relies on deeper than this one, and Nest runs `onModuleDestroy` from the root down, so the
 * drain runs before any of them is torn down.
 */
@Module({
  imports: [GatewayModule],
  providers: [GracefulShutdown],
})
export class ShutdownModule {}
