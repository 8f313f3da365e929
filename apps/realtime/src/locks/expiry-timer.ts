import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/**
 * Wakes the sweep when a lock this instance handed out reaches `expiresAt`, so owners hear
 * `lock-expired` on time instead of at the next `CLEANUP_INTERVAL_MINUTES` tick. Only one timer
 * is armed (for the earliest expiry); the periodic sweep stays the safety net for everything else
 * (other instances' locks, restarts).
 */
@Injectable()
export class ExpiryTimer implements OnModuleDestroy {
  private readonly due: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private onDue: (() => void) | undefined;
  /** Upper bound on remembered expiries; beyond it the periodic sweep does the work. */
  private static readonly MAX_PENDING = 100_000;

  /** Registers what runs when an expected expiry is reached (the sweep). */
  setHandler(handler: () => void): void {
    this.onDue = handler;
  }

  /**
   * Expect a lock to expire at `expiresAt`, read on the store's clock at `storeNow`; the offset to
   * the local clock is taken into account so skewed instances still wake on time.
   */
  expect(expiresAt: number, storeNow: number): void {
    const localAt = expiresAt - storeNow + Date.now();
    if (this.due.length >= ExpiryTimer.MAX_PENDING) return;
    insertSorted(this.due, localAt);
    this.arm();
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due.length = 0;
  }

  private arm(): void {
    const next = this.due[0];
    if (next === undefined || next >= this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = next;
    // +5 ms: the store compares `expiresAt <= now`, so wake just after, not just before.
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - Date.now() + 5));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    while (this.due.length > 0 && (this.due[0] ?? Infinity) <= now) this.due.shift();
    this.onDue?.();
    this.arm();
  }
}

function insertSorted(list: number[], value: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, value);
}
