import 'reflect-metadata';
import { Logger, type INestApplication, type LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppConfig, LogLevel } from '#config';
import { AppModule } from './app.module.js';
import { RealtimeIoAdapter } from './gateway/realtime-io.adapter.js';

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
  await app.listen(config.port);
  const logger = new Logger('Bootstrap');
  logger.log(`realtime service listening on :${config.port} (Socket.IO namespace /realtime)`);
  if (!config.rabbitmqUrl) logger.warn('RABBITMQ_URL is not set: running without the RabbitMQ transport');
  if (config.allowAnonymous) logger.warn('anonymous connections are allowed (development mode)');
  return app;
}
