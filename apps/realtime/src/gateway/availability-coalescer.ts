import { idKey, type Availability } from '#lock-domain';

/** Options of the {@link AvailabilityCoalescer}. */
export interface AvailabilityCoalescerOptions {
  /** `BROADCAST_INTERVAL_MS`: at most one update per category per interval (`0`: no waiting). */
  intervalMs: number;
  /** Sends one update to its event room. Must not throw. */
  send: (availability: Availability) => void;
  /** Monotonic clock in ms; `performance.now` by default. */
  now?: () => number;
  /** How long a quiet category's last sent version is remembered; 10 minutes by default. */
  forgetAfterMs?: number;
}

interface Slot {
  /** Version and time of the last update sent for the category. */
  sentVersion: number;
  sentAt: number;
  /** The newest update not sent yet; only one is kept, as it carries the final counts. */
  pending: Availability | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Coalesces `availability-update` per category:
 * - an update arriving when nothing was sent for the category during the last interval goes out at once;
 * - otherwise it replaces the pending one, and the pending update goes out when the interval since
 *   the last send has passed, so the last update of a burst always carries the final counts;
 * - an update whose `version` is not above what was sent (or is pending) is dropped, so a client
 *   never sees the counts go back in time.
 *
 * One timer per category at most, and only while an update is pending.
 */
export class AvailabilityCoalescer {
  private readonly slots = new Map<string, Slot>();
  private readonly now: () => number;
  private readonly forgetAfterMs: number;
  private readonly pruner: NodeJS.Timeout;

  constructor(private readonly options: AvailabilityCoalescerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.forgetAfterMs = options.forgetAfterMs ?? 600_000;
    this.pruner = setInterval(() => this.prune(), this.forgetAfterMs);
    this.pruner.unref();
  }

  offer(update: Availability): void {
    const key = `${idKey(update.eventId)}\n${idKey(update.categoryId)}`;
    let slot = this.slots.get(key);
    if (!slot) {
      // Nothing sent yet: any version passes and the interval has long passed.
      slot = { sentVersion: -Infinity, sentAt: -Infinity, pending: undefined, timer: undefined };
      this.slots.set(key, slot);
    }
    const now = this.now();
    if (update.version <= Math.max(slot.sentVersion, slot.pending?.version ?? -Infinity)) return;
    if (slot.timer === undefined && now - slot.sentAt >= this.options.intervalMs) {
      this.sendNow(slot, update, now);
      return;
    }
    slot.pending = update;
    if (slot.timer === undefined) {
      slot.timer = setTimeout(() => this.flush(slot), Math.max(0, slot.sentAt + this.options.intervalMs - now));
    }
  }

  /** Drops pending updates and timers (shutdown). */
  close(): void {
    clearInterval(this.pruner);
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    this.slots.clear();
  }

  private flush(slot: Slot): void {
    slot.timer = undefined;
    const pending = slot.pending;
    if (pending) this.sendNow(slot, pending, this.now());
  }

  private sendNow(slot: Slot, update: Availability, now: number): void {
    slot.pending = undefined;
    slot.sentVersion = update.version;
    slot.sentAt = now;
    this.options.send(update);
  }

  /** Forgets categories quiet for long enough that an older version can no longer be in flight. */
  private prune(): void {
    const cutoff = this.now() - this.forgetAfterMs;
    for (const [key, slot] of this.slots) {
      if (slot.timer === undefined && slot.sentAt < cutoff) this.slots.delete(key);
    }
  }
}
