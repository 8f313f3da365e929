import { Injectable } from '@nestjs/common';
import { RealtimeNamespaceRef } from './realtime-namespace.js';

export interface ConnectionCounts {
  /** Open `/realtime` sockets. */
  connections: number;
  /** Distinct users among them. */
  connectedUsers: number;
}

/**
 * Connection counts for `/stats`. Asked through the namespace adapter's `fetchSockets`, so the figures
 * are cluster-wide as soon as a cluster adapter (Redis) is installed, and this instance's otherwise.
 */
@Injectable()
export class ConnectionStats {
  constructor(private readonly namespace: RealtimeNamespaceRef) {}

  async count(): Promise<ConnectionCounts> {
    const nsp = this.namespace.get();
    if (!nsp) return { connections: 0, connectedUsers: 0 };
    const sockets = await nsp.fetchSockets();
    return { connections: sockets.length, connectedUsers: new Set(sockets.map((socket) => socket.data.userId)).size };
  }
}
