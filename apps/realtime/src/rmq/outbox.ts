import type { OutboxEntry } from '#lock-store';

export type { OutboxEntry };

/**
 * Lifecycle events waiting to be published. On Redis it is the stream the lock scripts append to
 * in the same atomic step as the transition (`RedisOutbox`); without Redis an in-memory queue.
 */
export interface Outbox {
  read(count: number): Promise<OutboxEntry[]>;
  remove(ids: string[]): Promise<void>;
  holdLease(owner: string, ttlMs: number): Promise<boolean>;
  dropLease(owner: string): Promise<void>;
}

/**
 * Zero-Redis mode only: the in-process store has no stream, so transitions are queued here as the
 * changes bus reports them. Survives a broker outage, not a process crash (said in the README).
 */
export class InMemoryOutbox implements Outbox {
  private readonly entries: OutboxEntry[] = [];
  private seq = 0;

  append(entry: Omit<OutboxEntry, 'id'>): void {
    this.entries.push({ id: `${Date.now()}-${this.seq++}`, ...entry });
  }

  async read(count: number): Promise<OutboxEntry[]> {
    return this.entries.slice(0, count);
  }

  async remove(ids: string[]): Promise<void> {
    const done = new Set(ids);
    let kept = 0;
    for (const entry of this.entries) if (!done.has(entry.id)) this.entries[kept++] = entry;
    this.entries.length = kept;
  }

  async holdLease(): Promise<boolean> {
    return true;
  }

  async dropLease(): Promise<void> {}
}
