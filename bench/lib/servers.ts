import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import type { ReferenceMode, ReferenceSettings } from '../ref/reference-server.js';
import { BENCH_DIR, ROOT, freePort, spawnNode, stopChild, waitForHttp, type Child } from './proc.js';

/** Everything one bench run shares: where Redis/RabbitMQ are, the names it may create, its secret. */
export interface RunContext {
  runId: string;
  redisUrl: string;
  amqpUrl: string | undefined;
  secret: string;
  catalogFile: string;
  events: ReferenceSettings['events'];
}

export interface Server {
  name: string;
  url: string;
  child: Child;
  exchange?: string;
  queues: string[];
}

export const SERVICE_MAIN = path.join(ROOT, 'dist/apps/realtime/src/main.js');

export interface ServiceOptions {
  name: string;
  /** Share a prefix (and queues) with another instance: the multi-instance scenario. */
  prefix?: string;
}

export async function startService(ctx: RunContext, options: ServiceOptions): Promise<Server> {
  const port = await freePort();
  const prefix = options.prefix ?? `bench-${ctx.runId}-${options.name}`;
  const rabbit = ctx.amqpUrl !== undefined;
  const names = {
    REALTIME_QUEUE: `bench.${ctx.runId}.${prefix}.realtime`,
    EVENTS_QUEUE: `bench.${ctx.runId}.${prefix}.events`,
    LOCK_EVENTS_EXCHANGE: `bench.${ctx.runId}.${prefix}.locks`,
  };
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'production',
    WEBSOCKET_PORT: String(port),
    WEBSOCKET_CORS_ORIGIN: 'http://localhost',
    REDIS_URL: ctx.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    RABBITMQ_URL: rabbit ? ctx.amqpUrl : undefined,
    ...(rabbit ? names : {}),
    EVENTS_SOURCE: 'catalog',
    CATALOG_FILE: ctx.catalogFile,
    JWT_SECRET: ctx.secret,
    JWT_PUBLIC_KEY: undefined,
    WS_ALLOW_ANONYMOUS: 'false',
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
  };
  const child = spawnNode({
    name: `${ctx.runId}-${options.name}`,
    args: [SERVICE_MAIN],
    env,
    admin: true,
  });
  await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000, child);
  return {
    name: options.name,
    url: `http://127.0.0.1:${port}`,
    child,
    ...(rabbit ? { exchange: names.LOCK_EVENTS_EXCHANGE } : {}),
    queues: rabbit ? [names.REALTIME_QUEUE, `${names.REALTIME_QUEUE}.dead-letter`, names.EVENTS_QUEUE] : [],
  };
}

export async function startReference(ctx: RunContext, mode: ReferenceMode, name: string): Promise<Server> {
  const prefix = `bench-${ctx.runId}-${name}`;
  const exchange = mode !== 'lua' ? `bench.${ctx.runId}.${name}.locks` : undefined;
  const settings: ReferenceSettings = {
    mode,
    redisUrl: ctx.redisUrl,
    prefix,
    secret: ctx.secret,
    events: ctx.events,
    broadcastMs: 100,
    ...(mode !== 'lua' && ctx.amqpUrl ? { amqpUrl: ctx.amqpUrl } : {}),
    ...(exchange ? { exchange } : {}),
  };
  const child = spawnNode({
    name: `${ctx.runId}-${name}`,
    args: [path.join(BENCH_DIR, 'ref/reference-server.ts')],
    env: { BENCH_REF: JSON.stringify(settings) },
    admin: true,
  });
  const { port } = await child.next<{ port: number }>((m) => m.ready === true, 60_000);
  return { name, url: `http://127.0.0.1:${port}`, child, ...(exchange ? { exchange } : {}), queues: [] };
}

export async function stopServer(server: Server): Promise<void> {
  await stopChild(server.child);
}

// ---- Redis ----

export async function redisPing(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** `INFO commandstats` as command → calls. */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls.set(match[1] ?? '', Number(match[2]));
  }
  return calls;
}

export function diffCalls(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const diff = new Map<string, number>();
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta !== 0 && name !== 'info') diff.set(name, delta);
  }
  return diff;
}

/** Deletes every key of the run's prefixes (`{bench-<runId>-…}:…`) in the bench's Redis db. */
/** Unlinks every key matching `pattern` (SCAN, so Redis never blocks on a KEYS); answers how many. */
export async function unlinkMatching(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

export async function cleanRedis(url: string, runId: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    for (const match of [`{bench-${runId}-*`, `bench-${runId}-*`]) deleted += await unlinkMatching(redis, match);
  } finally {
    redis.disconnect();
  }
  return deleted;
}

// ---- RabbitMQ ----

export async function amqpReachable(url: string): Promise<boolean> {
  try {
    const connection = await amqpConnect(url, { timeout: 3000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A durable queue bound (`#`) to the given exchanges, like the Orders service's: published lifecycle
 * events are routed and stored, so the broker does the work a real deployment asks of it. Counting and
 * purging it tells how many events each server published.
 */
export class OrdersQueue {
  private constructor(
    private readonly connection: Awaited<ReturnType<typeof amqpConnect>>,
    private readonly channel: Awaited<ReturnType<Awaited<ReturnType<typeof amqpConnect>>['createChannel']>>,
    readonly name: string,
  ) {}

  static async create(url: string, name: string): Promise<OrdersQueue> {
    const connection = await amqpConnect(url);
    const channel = await connection.createChannel();
    await channel.assertQueue(name, { durable: true });
    return new OrdersQueue(connection, channel, name);
  }

  async bind(exchange: string): Promise<void> {
    await this.channel.assertExchange(exchange, 'topic', { durable: true });
    await this.channel.bindQueue(this.name, exchange, '#');
  }

  /** Messages waiting, then purged. */
  async drain(): Promise<number> {
    const { messageCount } = await this.channel.checkQueue(this.name);
    await this.channel.purgeQueue(this.name);
    return messageCount;
  }

  async count(): Promise<number> {
    return (await this.channel.checkQueue(this.name)).messageCount;
  }

  /** Deletes the queue and the given exchanges / queues the run created. */
  async cleanup(exchanges: string[], queues: string[]): Promise<void> {
    for (const queue of [this.name, ...queues]) await this.channel.deleteQueue(queue).catch(() => undefined);
    for (const exchange of exchanges) await this.channel.deleteExchange(exchange).catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}

/** Whether the built service carries the Socket.IO Redis adapter (multi-instance broadcasts). */
export function serviceHasClusterAdapter(): boolean {
  const dir = path.join(ROOT, 'dist/apps/realtime/src/gateway');
  if (!existsSync(dir)) return false;
  return readdirSync(dir)
    .filter((file) => file.endsWith('.js'))
    .some((file) => readFileSync(path.join(dir, file), 'utf8').includes('@socket.io/redis-adapter'));
}
