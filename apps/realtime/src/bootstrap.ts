import 'reflect-metadata';
import { Logger, type INestApplication, type LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppConfig, LogLevel } from '#config';
import { AppModule } from './app.module.js';
import { RealtimeIoAdapter } from './gateway/realtime-io.adapter.js';
import { RealtimeRmqServer } from './rmq/realtime-rmq.server.js';

/** How long the start waits for RabbitMQ before serving without it (the consumer starts when it answers). */
const RABBITMQ_START_WAIT_MS = 10_000;

const NEST_LEVELS: Record<LogLevel, NestLogLevel[]> = {
  silent: [],
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Builds and starts the service for a configuration; used by `main.ts` and by the e2e tests. */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: NEST_LEVELS[config.logLevel] });
  app.enableShutdownHooks();
  app.useWebSocketAdapter(new RealtimeIoAdapter(app, config));
  if (config.rabbitmqUrl) app.connectMicroservice({ strategy: app.get(RealtimeRmqServer) });
  await app.listen(config.port);
  const logger = new Logger('Bootstrap');
  logger.log(`realtime service listening on :${config.port} (Socket.IO namespace /realtime)`);
  if (config.rabbitmqUrl) await startTransport(app, config, logger);
  if (!config.rabbitmqUrl) logger.warn('RABBITMQ_URL is not set: running without the RabbitMQ transport');
  if (config.allowAnonymous) logger.warn('anonymous connections are allowed (development mode)');
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
      logger.error(`RabbitMQ transport failed to start: ${error instanceof Error ? error.message : String(error)}`);
      return 'failed' as const;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'waiting'>((resolve) => {
    timer = setTimeout(() => resolve('waiting'), RABBITMQ_START_WAIT_MS);
  });
  const refused = app.get(RealtimeRmqServer).setupFailure.then(() => 'failed' as const);
  const outcome = await Promise.race([started, waited, refused]);
  clearTimeout(timer);
  if (outcome === 'consuming') logger.log(`consuming RabbitMQ queue ${config.realtimeQueue}`);
  else if (outcome === 'waiting') logger.warn(`RabbitMQ is not reachable yet: serving without it, consuming ${config.realtimeQueue} starts when it answers`);
  else logger.error(`not consuming ${config.realtimeQueue} (see above); /ready reports rabbitmq down`);
}
