import { type DynamicModule, Global, Module } from '@nestjs/common';
import { INSTANCE_ID } from './instance-id.js';
import { Metrics } from './metrics.js';

/** Process-wide observability: the instance id (logs, `/stats`) and the Prometheus metrics. */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(instanceId: string): DynamicModule {
    return {
      module: ObservabilityModule,
      providers: [Metrics, { provide: INSTANCE_ID, useValue: instanceId }],
      exports: [Metrics, INSTANCE_ID],
    };
  }
}
