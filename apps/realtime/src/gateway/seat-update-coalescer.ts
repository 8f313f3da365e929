import { idKey, type SeatChange, type SeatDelta } from '#lock-domain';
import type { SeatUpdate } from '#contracts';

export interface SeatUpdateCoalescerOptions {
  /** `BROADCAST_INTERVAL_MS`: at most one `seat-update` per event per interval (`0`: no waiting). */
  intervalMs: number;
  /** Sends one update to its event room. Must not throw. */
  send: (update: SeatUpdate) => void;
  /** Monotonic clock in ms; `performance.now` by default. */
  now?: () => number;
  /**
   * How long a delta that does not follow on (an earlier one has not arrived: this instance's own
   * replies and the other instances' feed travel on different connections) waits for the missing
   * versions before it is sent anyway (clients then see the gap and read the map again). 1 s by default.
   */
  gapMs?: number;
  /** How long a quiet event is remembered; 10 minutes by default. */
  forgetAfterMs?: number;
}

interface Slot {
  eventId: SeatDelta['eventId'];
  /** The seat version everything sent or pending reaches. */
  cursor: number;
  /** Where the pending update starts (`undefined`: nothing pending). */
  pendingFrom: number | undefined;
  /** Pending changes by seat; a later status replaces an earlier one (insertion order kept). */
  pending: Map<string, SeatChange>;
  /** Deltas that arrived ahead of a missing one, by their `fromVersion`. */
  early: Map<number, SeatDelta>;
  sentAt: number;
  timer: NodeJS.Timeout | undefined;
  gapTimer: NodeJS.Timeout | undefined;
}

/**
 * Coalesces `seat-update` per event (CONTRACT §6), like the availability coalescer does per category:
 * the first update goes out at once, later ones at most once per interval, each carrying every change
 * from its `fromVersion` to its `version` (merged, the last status of a seat wins). Deltas are put in
 * version order first, so a watcher sees `fromVersion` of each update equal the `version` of the one
 * before; a delta that arrives twice or late (already covered) is dropped.
 */
export class SeatUpdateCoalescer {
  private readonly slots = new Map<string, Slot>();
  private readonly now: () => number;
  private readonly gapMs: number;
  private readonly forgetAfterMs: number;
  private readonly pruner: NodeJS.Timeout;

  constructor(private readonly options: SeatUpdateCoalescerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.gapMs = options.gapMs ?? 1000;
    this.forgetAfterMs = options.forgetAfterMs ?? 600_000;
    this.pruner = setInterval(() => this.prune(), this.forgetAfterMs);
    this.pruner.unref();
  }

  offer(delta: SeatDelta): void {
    const key = idKey(delta.eventId);
    let slot = this.slots.get(key);
    if (!slot) {
      // The first delta seen for the event is where this instance starts.
      slot = {
        eventId: delta.eventId,
        cursor: delta.fromVersion,
        pendingFrom: undefined,
        pending: new Map(),
        early: new Map(),
        sentAt: -Infinity,
        timer: undefined,
        gapTimer: undefined,
      };
      this.slots.set(key, slot);
    }
    if (delta.version <= slot.cursor) return;
    if (delta.fromVersion > slot.cursor) {
      slot.early.set(delta.fromVersion, delta);
      const waiting = slot;
      waiting.gapTimer ??= setTimeout(() => this.skipGap(waiting), this.gapMs);
      return;
    }
    this.merge(slot, delta);
    this.schedule(slot);
  }

  /** Drops pending updates and timers (shutdown). */
  close(): void {
    clearInterval(this.pruner);
    for (const slot of this.slots.values()) {
      clearTimeout(slot.timer);
      clearTimeout(slot.gapTimer);
    }
    this.slots.clear();
  }

  private merge(slot: Slot, delta: SeatDelta): void {
    slot.pendingFrom ??= slot.cursor;
    for (const change of delta.changes) slot.pending.set(change.seatId, change);
    slot.cursor = delta.version;
    // Deltas that waited for this one follow on now.
    for (let next = slot.early.get(slot.cursor); next; next = slot.early.get(slot.cursor)) {
      slot.early.delete(next.fromVersion);
      for (const change of next.changes) slot.pending.set(change.seatId, change);
      slot.cursor = next.version;
    }
    for (const from of slot.early.keys()) if ((slot.early.get(from) as SeatDelta).version <= slot.cursor) slot.early.delete(from);
    if (slot.early.size === 0) {
      clearTimeout(slot.gapTimer);
      slot.gapTimer = undefined;
    }
  }

  private schedule(slot: Slot): void {
    const now = this.now();
    if (slot.timer !== undefined) return;
    if (now - slot.sentAt >= this.options.intervalMs) {
      this.flush(slot);
      return;
    }
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.flush(slot);
    }, Math.max(0, slot.sentAt + this.options.intervalMs - now));
  }

  private flush(slot: Slot): void {
    if (slot.pendingFrom === undefined) return;
    const update: SeatUpdate = {
      eventId: slot.eventId,
      fromVersion: slot.pendingFrom,
      version: slot.cursor,
      changes: [...slot.pending.values()],
      timestamp: new Date().toISOString(),
    };
    slot.pendingFrom = undefined;
    slot.pending = new Map();
    slot.sentAt = this.now();
    this.options.send(update);
  }

  /** The missing versions never came (e.g. the feed was cut): what is pending goes out, then the rest. */
  private skipGap(slot: Slot): void {
    slot.gapTimer = undefined;
    if (slot.early.size === 0) return;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    this.flush(slot);
    const first = Math.min(...slot.early.keys());
    const delta = slot.early.get(first) as SeatDelta;
    slot.early.delete(first);
    slot.cursor = first;
    this.merge(slot, delta);
    if (slot.early.size > 0) slot.gapTimer = setTimeout(() => this.skipGap(slot), this.gapMs);
    this.schedule(slot);
  }

  private prune(): void {
    const cutoff = this.now() - this.forgetAfterMs;
    for (const [key, slot] of this.slots) {
      if (slot.timer === undefined && slot.gapTimer === undefined && slot.sentAt < cutoff) this.slots.delete(key);
    }
  }
}
