import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import { userRoom } from '#contracts';
import { LockService } from '../locks/lock.service.js';
import { RealtimeNamespaceRef } from './realtime-namespace.js';
import type { RealtimeSocket } from './socket-types.js';
import { errorMessage } from '../common/error-message.js';

/**
 * Releases a disconnected session's locks after `DISCONNECT_GRACE_SECONDS`, unless the user has a
 * connected socket by then (a reconnection or another tab). The check asks the namespace's adapter
 * (`fetchSockets` on the user's room), so it covers every instance once the Redis adapter is used.
 * Only sessions that were granted a lock are scheduled: browsing clients cost nothing here.
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
   * left (so a lock granted in that window is not forgotten); a session is scheduled once.
   */
  onDisconnect(socket: RealtimeSocket): void {
    if (this.closing || !socket.data.holdsLocks || this.timers.has(socket.id)) return;
    const sessionId = socket.id;
    const { userId } = socket.data;
    const expire = () => {
      this.timers.delete(sessionId);
      this.releaseUnlessConnected(sessionId, userId).catch((error: unknown) => this.warn(sessionId, error));
    };
    if (this.config.disconnectGraceMs === 0) {
      expire();
      return;
    }
    this.timers.set(sessionId, setTimeout(expire, this.config.disconnectGraceMs));
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

  private async releaseUnlessConnected(sessionId: string, userId: string): Promise<void> {
    const nsp = this.namespace.get();
    if (!nsp || this.closing) return;
    const sockets = await nsp.in(userRoom(userId)).fetchSockets();
    if (sockets.length > 0) return;
    const released = await this.locks.releaseSession(sessionId, 'disconnected');
    if (released.length > 0) this.logger.debug(`released ${released.length} lock(s) of disconnected session ${sessionId}`);
  }

  private warn(sessionId: string, error: unknown): void {
    // The locks still expire on their own; nothing else to do.
    this.logger.warn(`could not release the locks of session ${sessionId}: ${errorMessage(error)}`);
  }
}
