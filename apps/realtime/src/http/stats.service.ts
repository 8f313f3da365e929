import { Inject, Injectable } from '@nestjs/common';
import { ConnectionStats } from '../gateway/connection-stats.js';
import { LockService } from '../locks/lock.service.js';
import { INSTANCE_ID } from '../observability/instance-id.js';
import type { StatsResponse } from './http-types.js';

/** The `/stats` body, also the answer to the original platform's RabbitMQ `get-realtime-stats`. */
@Injectable()
export class StatsService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly locks: LockService,
    private readonly connections: ConnectionStats,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
  ) {}

  /** Service figures: lock counts (exact, cluster-wide, from the store) and open connections. */
  async stats(): Promise<StatsResponse> {
    const [ticketLocks, connections] = await Promise.all([this.locks.stats(), this.connections.count()]);
    return {
      service: 'realtime-service',
      status: 'active',
      instanceId: this.instanceId,
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
      connectedUsers: connections.connectedUsers,
      connections: connections.connections,
      ticketLocks,
    };
  }
}
