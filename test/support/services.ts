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
