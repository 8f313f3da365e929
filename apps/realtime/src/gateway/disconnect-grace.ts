import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { LockError } from '#lock-domain';
import { userRoom } from '#contracts';
import { LockService } from '../locks/lock.service.js';
import { RealtimeNamespaceRef } from './realtime-namespace.js';
import type { RealtimeSocket } from './socket-types.js';
import { errorMessage } from '../common/error-message.js';

/**
 * Releases a user's ACTIVE locks `DISCONNECT_GRACE_SECONDS` after the user's **last** socket went away,
 * unless the user is back by then (CONTRACT §2 Disconnect). Per user, not per socket: whichever tab
 * or instance made a lock, it is the user leaving altogether that counts, and each disconnect starts
 * the grace afresh (a reconnection that drops again gets a new grace).
 *
 * A socket leaving while the user still has another one on this instance schedules nothing (that
 * one's disconnect will). Otherwise a timer per user; when it fires, the user's ACTIVE locks are read
 * (one store call, usually empty for browsing users) and, only if there are any, the user's room is
 * asked for sockets on every instance (`fetchSockets` through the Redis adapter) before releasing.
 */
@Injectable()
export class DisconnectGrace implements OnModuleDestroy {
  private readonly logger = new Logger(DisconnectGrace.name);
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly locks: LockService,
    private readonly namespace: RealtimeNamespaceRef,
  ) {}

  /**
   * Called when a socket disconnects, and again by a lock request that completed after its socket
   * left (so a lock granted in that window is not forgotten). Restarts the user's grace.
   */
  onDisconnect(socket: RealtimeSocket): void {
    const { userId } = socket.data;
    if (this.closing || this.connectedHere(userId)) return;
    const previous = this.timers.get(userId);
    if (previous) clearTimeout(previous);
    const expire = () => {
      this.timers.delete(userId);
      this.releaseUnlessConnected(userId).catch((error: unknown) => this.warn(userId, error));
    };
    if (this.config.disconnectGraceMs === 0) {
      this.timers.delete(userId);
      expire();
      return;
    }
    this.timers.set(userId, setTimeout(expire, this.config.disconnectGraceMs));
  }

  onModuleDestroy(): void {
    this.stop();
  }

  /**
   * Shutting down is not the user leaving: from now on no disconnection releases anything (the locks
   * stay until they expire or another instance's client releases them). A shutdown step (GatewayShutdown).
   */
  stop(): void {
    this.closing = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Another socket of the user on this instance (a disconnected socket has already left its rooms). */
  private connectedHere(userId: string): boolean {
    const room = this.namespace.get()?.adapter.rooms.get(userRoom(userId));
    return room !== undefined && room.size > 0;
  }

  private async releaseUnlessConnected(userId: string): Promise<void> {
    const nsp = this.namespace.get();
    if (!nsp || this.closing) return;
    const held = await this.locks.myLocks(userId);
    if (held.length === 0) return;
    const sockets = await nsp.in(userRoom(userId)).fetchSockets();
    if (sockets.length > 0 || this.closing) return;
    let released = 0;
    for (const lock of held) {
      try {
        if ((await this.locks.release(lock.lockId, 'disconnected')).status === 'RELEASED') released++;
      } catch (error) {
        // Confirmed meanwhile (LOCK_NOT_ACTIVE): nothing to free.
        if (!(error instanceof LockError)) throw error;
      }
    }
    if (released > 0) this.logger.debug(`released ${released} lock(s) of disconnected user ${userId}`);
  }

  private warn(userId: string, error: unknown): void {
    // The locks still expire on their own; nothing else to do.
    this.logger.warn(`could not release the locks of user ${userId}: ${errorMessage(error)}`);
  }
}
