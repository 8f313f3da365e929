import type { OutboxEntry } from '#lock-store';

/** A lock lifecycle event as the outbox records it: the transition and the lock right after it. */
export type LifecycleEntry = OutboxEntry;

/**
 * A transport lifecycle events go out on (RabbitMQ today, MQTT later). Each sink has its own cursor
 * in the outbox and its own relay, so it gets every event at least once, in order per lock, however
 * the others fare; an entry is dropped once every sink has it.
 */
export interface LifecycleSink {
  /** Names the sink's cursor and lease: stable across releases, `[a-z0-9-]`. */
  readonly name: string;
  /**
   * Sends a batch, oldest first; resolves once the transport has all of it (e.g. broker confirms).
   * A rejection leaves the batch in the outbox, to be sent again.
   */
  publish(batch: readonly LifecycleEntry[]): Promise<void>;
  /** Whether the transport is reachable; while it is not, the sink's relay lets another instance take over. */
  connected?(): boolean;
}
