import { Inject, Injectable } from '@nestjs/common';
import { ConnectionStats } from '../gateway/connection-stats.js';
import { LockService } from '../locks/lock.service.js';
import { INSTANCE_ID } from '../observability/instance-id.js';
import type { StatsResponse } from './http-types.js';
import { WaitingRoomService } from '../waiting-room/waiting-room.service.js';

/** The `/stats` body, also the answer to the original platform's RabbitMQ `get-realtime-stats`. */
@Injectable()
export class StatsService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly locks: LockService,
    private readonly connections: ConnectionStats,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
    private readonly rooms: WaitingRoomService,
  ) {}

  /** Service figures: lock counts (exact, cluster-wide, from the store) and open connections. */
  async stats(): Promise<StatsResponse> {
    const [ticketLocks, connections, waiting] = await Promise.all([this.locks.stats(), this.connections.count(), this.rooms.snapshots()]);
    return {
      service: 'realtime-service',
      status: 'active',
      instanceId: this.instanceId,
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
      connectedUsers: connections.connectedUsers,
      connections: connections.connections,
      ticketLocks,
      // CONTRACT §7: cluster-wide, every configured room (closed ones too).
      waitingRooms: waiting.rooms.map(({ eventId, queueLength, activeUsers, admittedTotal }) => ({ eventId, queueLength, activeUsers, admittedTotal })),
    };
  }
}
