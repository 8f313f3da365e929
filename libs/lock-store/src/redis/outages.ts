import type { Redis } from 'ioredis';

/** What the owner of a Redis connection hears of its outages. */
export interface OutageListener {
  /** Every connection error, including each failed reconnect. */
  error?(error: Error): void;
  /** The first error of an outage. */
  down(error: Error): void;
  /** Ready again after an outage. */
  up?(): void;
}

/**
 * Reports a connection's outages once each, not once per failed reconnect (ioredis keeps
 * reconnecting by itself; without an `error` listener it reports every failure as unhandled).
 */
export function watchOutages(client: Redis, listener: OutageListener): void {
  let down = false;
  client.on('error', (error: Error) => {
    listener.error?.(error);
    if (!down) listener.down(error);
    down = true;
  });
  client.on('ready', () => {
    if (down) listener.up?.();
    down = false;
  });
}
