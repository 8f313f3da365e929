import { Injectable } from '@nestjs/common';
import type { Availability, LockTransition } from '#lock-domain';

/** What one store call changed: the transitions it recorded and the fresh counts it read. */
export interface LockChanges {
  now: number;
  transitions: LockTransition[];
  availability: Availability[];
}

export type LockChangesListener = (changes: LockChanges) => void;

/**
 * In-process fan-out of store changes to whoever tells the world (the gateway's notifications
 * and coalesced availability broadcasts). Listeners are synchronous and must not throw: a failing
 * listener is isolated so one bad subscriber cannot break a lock request.
 */
@Injectable()
export class LockChangesBus {
  private readonly listeners = new Set<LockChangesListener>();

  subscribe(listener: LockChangesListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(changes: LockChanges): void {
    if (changes.transitions.length === 0 && changes.availability.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch {
        // A listener's own fault must not fail the request that produced the change.
      }
    }
  }
}
