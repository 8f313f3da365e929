import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/** setTimeout's limit; a later expiry is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the watch needs of a socket. */
export interface ExpiringSocket {
  readonly connected: boolean;
  readonly data: { tokenExpiresAt?: number };
  emit(event: 'token-expired', payload: { expiredAt: string }): unknown;
  disconnect(close?: boolean): unknown;
}

/**
 * Tells a socket `token-expired` and disconnects it when its token's `exp` passes (CONTRACT §2; the
 * grace keeps its locks while the client reconnects with a fresh token).
 *
 * One timer for the whole instance, armed for the earliest expiry, and the sockets grouped by their
 * expiry instant (`exp` has whole seconds, so tokens issued in the same second share a group). A
 * timer and closures per socket cost about 1 KB of every idle connection; here a socket costs one
 * entry in a set. {@link forget} on disconnect, so a gone socket is not kept until its expiry.
 */
@Injectable()
export class TokenExpiryWatch implements OnModuleDestroy {
  private readonly due = new Map<number, Set<ExpiringSocket>>();
  private timer: NodeJS.Timeout | undefined;
  /** The instant the timer is armed for (Infinity: not armed). */
  private armedFor = Number.POSITIVE_INFINITY;

  /** Call once the socket is connected. */
  watch(socket: ExpiringSocket): void {
    const at = socket.data.tokenExpiresAt;
    if (at === undefined) return;
    let group = this.due.get(at);
    if (!group) {
      group = new Set();
      this.due.set(at, group);
    }
    group.add(socket);
    if (at < this.armedFor) this.arm(at);
  }

  /** Call on disconnect. The timer stays armed: firing with nothing due costs one look at the map. */
  forget(socket: ExpiringSocket): void {
    const at = socket.data.tokenExpiresAt;
    if (at === undefined) return;
    const group = this.due.get(at);
    if (!group?.delete(socket)) return;
    if (group.size === 0) this.due.delete(at);
  }

  /** Sockets waiting for their expiry (for tests and metrics). */
  get watched(): number {
    let count = 0;
    for (const group of this.due.values()) count += group.size;
    return count;
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.armedFor = at;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()));
    this.timer = setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    const expired: ExpiringSocket[] = [];
    for (const [at, group] of this.due) {
      if (at > now) {
        next = Math.min(next, at);
        continue;
      }
      this.due.delete(at);
      for (const socket of group) expired.push(socket);
    }
    for (const socket of expired) {
      if (!socket.connected) continue;
      const at = socket.data.tokenExpiresAt ?? now;
      socket.emit('token-expired', { expiredAt: new Date(at).toISOString() });
      socket.disconnect(true);
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}
