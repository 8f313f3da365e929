import { Module } from '@nestjs/common';
import { GracefulShutdown } from './graceful-shutdown.service.js';
import { ShutdownStepsModule } from './shutdown-steps.js';

/**
 * The graceful shutdown: {@link GracefulShutdown} runs the steps the modules declare in
 * ShutdownSteps (global, from ShutdownStepsModule), phase by phase; `createApp` hands it the application.
 */
@Module({
  imports: [ShutdownStepsModule],
  providers: [GracefulShutdown],
  exports: [GracefulShutdown],
})
export class ShutdownModule {}
