import { Redis } from 'ioredis';

/**
 * Where the tests find Redis and RabbitMQ. They always talk to real servers; when one does not
 * answer, the run stops with a message naming what to start (never a silent skip).
 */
export const TEST_REDIS_URL = withDb(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 15);
export const TEST_RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Tests get a dedicated database number unless the URL names one. */
function withDb(raw: string, db: number): string {
  const url = new URL(raw);
  if (url.pathname === '' || url.pathname === '/') url.pathname = `/${db}`;
  return url.toString();
}

/** A key prefix / name suffix no other test run shares. */
export function uniqueName(base: string): string {
  return `${base}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Deletes every key of a test's store (its prefix's hash tag), so the test database does not grow. */
export async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
