import { Logger } from '@nestjs/common';
import type { LifecycleSink } from './lifecycle-sink.js';
import type { Outbox } from './outbox.js';
import { withTimeout } from '../common/with-timeout.js';
import { errorMessage } from '../common/error-message.js';

export interface SinkRelayOptions {
  /** Who holds the relay lease (this instance). */
  owner: string;
  /** Entries published per batch. */
  batchSize?: number;
  /** How often an idle relay looks for entries other instances appended. */
  idlePollMs?: number;
  /** Pause after a failed batch (broker away): nothing is trimmed, the batch is retried. */
  retryMs?: number;
  /** The lease outlives a crashed holder by this much before another instance takes over. */
  leaseMs?: number;
  /** A batch the sink has not taken within this is failed (and retried), so a dead link never stalls the loop. */
  publishTimeoutMs?: number;
}

/**
 * Relays the outbox to one sink: a batch at a time from the sink's cursor, which moves only after
 * the sink took the batch. So an event survives a crash between Redis and the transport or an
 * outage of it, and reaches the sink at least once. One instance relays to a sink at a time (a lease
 * per sink in Redis), so the events of one lock leave in the order they were recorded. The lock hot
 * path never waits on it.
 */
export class SinkRelay {
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly idlePollMs: number;
  private readonly retryMs: number;
  private readonly leaseMs: number;
  private readonly publishTimeoutMs: number;
  private running = false;
  private holdsLease = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private pendingWake = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly sink: LifecycleSink,
    private readonly options: SinkRelayOptions,
  ) {
    this.logger = new Logger(`LifecycleSink:${sink.name}`);
    this.batchSize = options.batchSize ?? 500;
    this.idlePollMs = options.idlePollMs ?? 250;
    this.retryMs = options.retryMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Lets the batch in flight finish for up to `graceMs` (what is not acknowledged then stays in the
   * outbox for the next relay; the loop ends when the sink's transport is closed or times out), and
   * gives up the lease.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.running = false;
    this.notify();
    const loop = this.loop;
    this.loop = undefined;
    if (loop) await withTimeout(loop, graceMs, undefined);
    await this.outbox.dropLease(this.sink.name, this.options.owner).catch(() => undefined);
  }

  /** Whether this instance holds the lease, i.e. is the one publishing. */
  get leading(): boolean {
    return this.holdsLease;
  }

  /** A transition was just recorded here: publish now rather than at the next poll. */
  notify(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let delay = this.idlePollMs;
      try {
        const { name } = this.sink;
        if (this.sink.connected && !this.sink.connected()) {
          if (this.holdsLease) await this.outbox.dropLease(name, this.options.owner);
          this.holdsLease = false;
          delay = this.retryMs;
        } else {
          this.holdsLease = await this.outbox.holdLease(name, this.options.owner, this.leaseMs);
          if (!this.holdsLease) {
            delay = this.leaseMs / 4;
          } else {
            const batch = await this.outbox.read(name, this.batchSize);
            if (batch.unreadable.length > 0) this.logger.error(`outbox rows that are not lifecycle events, skipped: ${batch.unreadable.join(', ')}`);
            if (batch.entries.length > 0) {
              // A failure as a value: a publish that fails after the timeout must not go unhandled.
              const sent = this.sink.publish(batch.entries).then(
                () => undefined,
                (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
              );
              const failure = await withTimeout(sent, this.publishTimeoutMs, new Error(`not taken within ${this.publishTimeoutMs} ms`));
              if (failure !== undefined) throw failure;
            }
            if (batch.last !== undefined) await this.outbox.ack(name, this.options.owner, batch.last);
            // A full batch means more is waiting: go on at once.
            if (batch.entries.length + batch.unreadable.length === this.batchSize) delay = 0;
          }
        }
      } catch (error) {
        this.logger.warn(`lifecycle batch not sent, retrying: ${errorMessage(error)}`);
        delay = this.retryMs;
      }
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || !this.running) return Promise.resolve();
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pendingWake = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
