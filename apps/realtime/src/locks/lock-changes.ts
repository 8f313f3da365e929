import { Injectable } from '@nestjs/common';
import type { LockChanges } from '#lock-domain';

export type LockChangesListener = (changes: LockChanges) => void;

/**
 * In-process fan-out of the changes this instance's own store calls made, to whoever tells the
 * world (the gateway's notifications and availability broadcasts, the lifecycle-event relay).
 * Other instances' changes arrive through the store's change feed instead. Listeners are
 * synchronous and must not throw: a failing listener is isolated so one bad subscriber cannot break
 * a lock request.
 */
@Injectable()
export class LockChangesBus {
  private readonly listeners = new Set<LockChangesListener>();

  subscribe(listener: LockChangesListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(changes: LockChanges): void {
    if (changes.transitions.length === 0 && changes.availability.length === 0 && !changes.seats?.length) return;
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch {
        // A listener's own fault must not fail the request that produced the change.
      }
    }
  }
}
