import { Injectable, Logger } from '@nestjs/common';
import { userRoom } from '#contracts';
import { RealtimeNamespaceRef } from './realtime-namespace.js';
import type { RealtimeNamespace } from './socket-types.js';
import { errorMessage } from '../common/error-message.js';

export interface ConnectionCounts {
  /** Open `/realtime` sockets. */
  connections: number;
  /** Distinct users among them. */
  connectedUsers: number;
}

/** What one instance reports: its socket count and its users (a user may be on several instances). */
interface Presence {
  connections: number;
  users: string[];
}

/** Server-side event between instances (never seen by clients). */
const PRESENCE_EVENT = 'realtime:presence';
const USER_ROOM_PREFIX = userRoom('');

/**
 * Connection counts for `/stats`, cluster-wide: each instance counts its own sockets and user rooms,
 * and the others answer a server-side request through the Socket.IO Redis adapter. Cheaper than
 * `fetchSockets()`, which would ship every socket's description over Redis for a count.
 */
@Injectable()
export class ConnectionStats {
  private readonly logger = new Logger(ConnectionStats.name);

  constructor(private readonly namespace: RealtimeNamespaceRef) {
    namespace.whenAttached((nsp) => {
      // Typed loosely on purpose: server-side events are not part of the client event maps.
      (nsp as unknown as { on(event: string, listener: (ack: (presence: Presence) => void) => void): void }).on(PRESENCE_EVENT, (ack) => {
        if (typeof ack === 'function') ack(presenceOf(nsp));
      });
    });
  }

  async count(): Promise<ConnectionCounts> {
    const nsp = this.namespace.get();
    if (!nsp) return { connections: 0, connectedUsers: 0 };
    const all = [presenceOf(nsp), ...(await this.others(nsp))];
    const users = new Set<string>();
    for (const presence of all) for (const user of presence.users) users.add(user);
    return { connections: all.reduce((sum, presence) => sum + presence.connections, 0), connectedUsers: users.size };
  }

  /** The other instances' presence; a silent instance is left out (logged) rather than failing `/stats`. */
  private async others(nsp: RealtimeNamespace): Promise<Presence[]> {
    try {
      if ((await nsp.adapter.serverCount()) <= 1) return [];
      return (await nsp.serverSideEmitWithAck(PRESENCE_EVENT)) as Presence[];
    } catch (error) {
      this.logger.warn(`connection counts are partial: ${errorMessage(error)}`);
      return ((error as { responses?: Presence[] }).responses ?? []).filter(Boolean);
    }
  }
}

function presenceOf(nsp: RealtimeNamespace): Presence {
  const users: string[] = [];
  for (const room of nsp.adapter.rooms.keys()) {
    if (room.startsWith(USER_ROOM_PREFIX)) users.push(room.slice(USER_ROOM_PREFIX.length));
  }
  return { connections: nsp.sockets.size, users };
}
