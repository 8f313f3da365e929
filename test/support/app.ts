import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { loadConfig, type AppConfig } from '#config';
import { createApp } from '../../apps/realtime/src/bootstrap.js';
import { closeAll } from './clients.js';
import { TEST_REDIS_URL, dropKeys, uniqueName } from './services.js';

export { dropKeys };

/** The HS256 secret every e2e app is configured with (see {@link signToken}). */
export const JWT_SECRET = 'e2e-test-secret-0123456789abcdef';

/** A small catalog: ids in both forms, a 100-ticket category for races, a big one for bursts. */
export const TEST_CATALOG = {
  events: [
    {
      id: 1,
      name: 'Rock Night',
      categories: [
        { categoryId: 1, name: 'VIP', totalTickets: 10 },
        { categoryId: 2, name: 'Standard', totalTickets: 100 },
        { categoryId: 3, name: 'Floor', totalTickets: 1000 },
      ],
    },
    {
      id: 'fest-2027',
      name: 'Summer Fest',
      categories: [
        { categoryId: 'early-bird', name: 'Early Bird', totalTickets: 20 },
        { categoryId: 'backstage', totalTickets: 2 },
      ],
    },
  ],
};

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** The Socket.IO namespace URL, `http://127.0.0.1:<port>/realtime`. */
  socketUrl: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Environment on top of the e2e defaults; `undefined` removes a default (e.g. `REDIS_URL`). */
  env?: Record<string, string | undefined>;
  catalog?: unknown;
}

/**
 * Starts the real service on a free port: real Redis (its own key prefix, so files running in
 * parallel never meet), a temporary catalog file, HS256 auth, silent logs.
 */
export async function startApp(options: StartOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), 'realtime-e2e-'));
  const catalogFile = join(dir, 'catalog.json');
  await writeFile(catalogFile, JSON.stringify(options.catalog ?? TEST_CATALOG));
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    WEBSOCKET_PORT: '0',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: uniqueName('e2e'),
    CATALOG_FILE: catalogFile,
    JWT_SECRET,
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const config = loadConfig(env);
  const app = await createApp(config);
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  const baseUrl = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    app,
    config,
    baseUrl,
    socketUrl: `${baseUrl}/realtime`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The usual life of a describe block's app: started before its tests, every socket closed after each
 * test, stopped and its keys dropped at the end. The app is there inside tests and hooks (once this
 * block's `beforeAll` ran); reading it earlier throws.
 */
export function useApp(options: StartOptions = {}): TestApp {
  let current: TestApp | undefined;
  beforeAll(async () => {
    current = await startApp(options);
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    if (!current) return;
    await current.close();
    await dropKeys(current.config.redisKeyPrefix);
  });
  return new Proxy({} as TestApp, {
    get(_target, key) {
      if (!current) throw new Error('useApp(): the app exists only inside tests and hooks');
      return Reflect.get(current, key) as unknown;
    },
  });
}


/** GET a JSON document from the app. */
export async function getJson<T>(testApp: Pick<TestApp, 'baseUrl'>, path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${testApp.baseUrl}${path}`);
  return { status: response.status, body: (await response.json()) as T };
}
