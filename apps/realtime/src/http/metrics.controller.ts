import { Controller, Get, Header } from '@nestjs/common';
import { eventIdOfRoom } from '#contracts';
import { RealtimeNamespaceRef } from '../gateway/realtime-namespace.js';
import { Metrics } from '../observability/metrics.js';

@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly namespace: RealtimeNamespaceRef,
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
    return this.metrics.registry.metrics();
  }
}
