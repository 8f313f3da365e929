import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppConfig } from '#config';
import { AppModule } from './app.module.js';
import { RealtimeIoAdapter } from './gateway/realtime-io.adapter.js';
import { createInstanceId } from './observability/instance-id.js';
import { Metrics } from './observability/metrics.js';
import { PinoNestLogger, createRootLogger } from './observability/logger.js';
import { RealtimeRmqServer } from './rmq/realtime-rmq.server.js';
import { GracefulShutdown } from './shutdown/graceful-shutdown.service.js';
import { withTimeout } from './common/with-timeout.js';
import { errorMessage } from './common/error-message.js';

/** How long the start waits for RabbitMQ before serving without it (the consumer starts when it answers). */
const RABBITMQ_START_WAIT_MS = 10_000;

/** Builds and starts the service for a configuration; used by `main.ts` and by the e2e tests. */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const instanceId = createInstanceId();
  // One JSON log stream (pino) for Nest's messages and ours; LOG_LEVEL filters it.
  const logger = new PinoNestLogger(createRootLogger(config, instanceId));
  const nest = await NestFactory.create(AppModule.forRoot(config, instanceId), { logger });
  // Not enableShutdownHooks: GracefulShutdown owns the signals, and the app's close() runs the declared drain steps first.
  const app = nest.get(GracefulShutdown).manage(nest);
  const metrics = app.get(Metrics);
  app.useWebSocketAdapter(new RealtimeIoAdapter(app, config, () => metrics.slowSocketDisconnects.inc()));
  if (config.rabbitmqUrl) app.connectMicroservice({ strategy: app.get(RealtimeRmqServer) });
  await app.listen(config.port);
  const log = new Logger('Bootstrap');
  for (const warning of config.warnings) log.warn(warning);
  log.log(`realtime service listening on :${config.port} (Socket.IO namespace /realtime)`);
  if (config.rabbitmqUrl) await startTransport(app, config, log);
  if (!config.rabbitmqUrl) log.warn('RABBITMQ_URL is not set: running without the RabbitMQ transport');
  if (config.allowAnonymous) log.warn('anonymous connections are allowed (development mode)');
  return app;
}

/**
 * Starts consuming `REALTIME_QUEUE` once sockets are served (handlers can push to them). A broker that
 * is away does not hold up the start: the connection keeps retrying and `/ready` says `rabbitmq: down`.
 */
async function startTransport(app: INestApplication, config: AppConfig, logger: Logger): Promise<void> {
  const started = app.startAllMicroservices().then(
    () => 'consuming' as const,
    (error: unknown) => {
      logger.error(`RabbitMQ transport failed to start: ${errorMessage(error)}`);
      return 'failed' as const;
    },
  );
  const refused = app.get(RealtimeRmqServer).setupFailure.then(() => 'failed' as const);
  const outcome = await withTimeout(Promise.race([started, refused]), RABBITMQ_START_WAIT_MS, 'waiting' as const);
  if (outcome === 'consuming') logger.log(`consuming RabbitMQ queue ${config.realtimeQueue}`);
  else if (outcome === 'waiting') logger.warn(`RabbitMQ is not reachable yet: serving without it, consuming ${config.realtimeQueue} starts when it answers`);
  else logger.error(`not consuming ${config.realtimeQueue} (see above); /ready reports rabbitmq down`);
}
