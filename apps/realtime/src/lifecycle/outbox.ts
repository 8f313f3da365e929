import type { OutboxBatch, OutboxEntry } from '#lock-store';

export type { OutboxBatch, OutboxEntry };

/**
 * Lifecycle events waiting for the sinks, with one cursor per sink. On Redis it is the stream the
 * lock scripts append to in the same atomic step as the transition (`RedisOutbox`); without Redis an
 * in-memory queue.
 */
export interface Outbox {
  read(sink: string, count: number): Promise<OutboxBatch>;
  /** The sink has everything up to `id`; false when `owner` no longer relays it (nothing moved). */
  ack(sink: string, owner: string, id: string): Promise<boolean>;
  holdLease(sink: string, owner: string, ttlMs: number): Promise<boolean>;
  dropLease(sink: string, owner: string): Promise<void>;
}

/**
 * Zero-Redis mode only: the in-process store has no stream, so transitions are queued here as the
 * changes bus reports them. Survives a broker outage, not a process crash (said in the README).
 */
export class InMemoryOutbox implements Outbox {
  private readonly entries: OutboxEntry[] = [];
  /** Per sink: how many of `entries` it has. */
  private readonly cursors = new Map<string, number>();
  private seq = 0;

  constructor(private readonly sinks: readonly string[]) {
    for (const sink of sinks) this.cursors.set(sink, 0);
  }

  append(entry: Omit<OutboxEntry, 'id'>): void {
    this.entries.push({ id: `${Date.now()}-${this.seq++}`, ...entry });
  }

  async read(sink: string, count: number): Promise<OutboxBatch> {
    const entries = this.entries.slice(this.cursors.get(sink) ?? 0).slice(0, count);
    return { entries, unreadable: [], ...(entries.length > 0 ? { last: entries[entries.length - 1]?.id } : {}) };
  }

  async ack(sink: string, _owner: string, id: string): Promise<boolean> {
    const at = this.entries.findIndex((entry) => entry.id === id);
    if (at >= 0) this.cursors.set(sink, Math.max(this.cursors.get(sink) ?? 0, at + 1));
    // Drop what every sink has.
    const done = Math.min(...this.sinks.map((name) => this.cursors.get(name) ?? 0));
    if (done > 0) {
      this.entries.splice(0, done);
      for (const [name, cursor] of this.cursors) this.cursors.set(name, cursor - done);
    }
    return true;
  }

  get length(): number {
    return this.entries.length;
  }

  async holdLease(): Promise<boolean> {
    return true;
  }

  async dropLease(): Promise<void> {}
}
