import { Controller, Get, Header } from '@nestjs/common';
import { eventIdOfRoom } from '#contracts';
import { RealtimeNamespaceRef } from '../gateway/realtime-namespace.js';
import { Metrics } from '../observability/metrics.js';
import { WaitingRoomService } from '../waiting-room/waiting-room.service.js';

@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly namespace: RealtimeNamespaceRef,
    private readonly rooms: WaitingRoomService,
  ) {}

  /** Prometheus text format. Room sizes are read at scrape time: nothing is counted per join. */
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    this.metrics.roomMembers.reset();
    const rooms = this.namespace.get()?.adapter.rooms;
    if (rooms) {
      for (const [room, members] of rooms) {
        if (eventIdOfRoom(room) !== undefined) this.metrics.roomMembers.set({ room }, members.size);
      }
    }
    await this.waitingRooms();
    return this.metrics.registry.metrics();
  }

  /** Waiting room figures, cluster-wide from the store (a store outage leaves them out, not the scrape). */
  private async waitingRooms(): Promise<void> {
    const { queueLength, activeUsers, admittedTotal } = {
      queueLength: this.metrics.waitingRoomQueueLength,
      activeUsers: this.metrics.waitingRoomActiveUsers,
      admittedTotal: this.metrics.waitingRoomAdmittedTotal,
    };
    for (const gauge of [queueLength, activeUsers, admittedTotal]) gauge.reset();
    const snapshot = await this.rooms.snapshots().catch(() => undefined);
    for (const room of snapshot?.rooms ?? []) {
      const event = String(room.eventId);
      queueLength.set({ event }, room.queueLength);
      activeUsers.set({ event }, room.activeUsers);
      admittedTotal.set({ event }, room.admittedTotal);
    }
  }
}
