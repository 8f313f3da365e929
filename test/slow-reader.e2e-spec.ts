import type { Socket as NetSocket } from 'node:net';
import { Logger } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import { RealtimeNamespaceRef } from '../apps/realtime/src/gateway/realtime-namespace.js';
import { useApp } from './support/app.js';
import { connect, ok, request, sleep, type TestSocket } from './support/clients.js';
import { eventually } from './support/rmq-broker.js';

/** Above one burst of the flood (BURST pushes of 16 KB in one tick), which a reader that keeps up also queues. */
const BOUND = 1024 * 1024;
const BLOB = 'x'.repeat(16_000);
/** 12.8 MB in all: more than the kernel's socket buffers take before the server starts holding bytes. */
const PUSHES = 800;
const BURST = 10;

/** The TCP socket under a socket.io-client WebSocket connection, to stop reading from it. */
function tcpOf(socket: TestSocket): NetSocket {
  const engine = (socket.io as unknown as { engine: { transport: { ws: { _socket: NetSocket } } } }).engine;
  return engine.transport.ws._socket;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;

/** CONTRACT-level hardening: what one socket may buffer is bounded (WS_MAX_BUFFERED_BYTES). */
describe(`a slow reader (WS_MAX_BUFFERED_BYTES=${BOUND})`, () => {
  const app = useApp({ env: { WS_MAX_BUFFERED_BYTES: String(BOUND), RATE_LIMIT_PER_MINUTE: '0' } });

  async function heartbeatMs(socket: TestSocket): Promise<number> {
    const started = performance.now();
    ok(await request(socket, 'heartbeat', {}));
    return performance.now() - started;
  }

  it('is cut at the bound (counted in /metrics) while the other sockets get every broadcast, as fast as without it', async () => {
    const { socket: reader } = await connect(app.socketUrl, { userId: 'keeps-up' });
    const { socket: slow } = await connect(app.socketUrl, { userId: 'slow-reader' });
    for (const socket of [reader, slow]) ok(await request(socket, 'join-event-room', { eventId: 1 }));
    let received = 0;
    (reader as unknown as { on(event: string, listener: () => void): void }).on('promo', () => received++);
    const nsp = app.app.get(RealtimeNamespaceRef).get();
    if (!nsp) throw new Error('no namespace');
    const room = nsp.to('event:1') as unknown as { emit(event: string, payload: unknown): boolean };

    /** Pushes PUSHES broadcasts of 16 KB to the room in bursts, measuring the reader's round trips meanwhile. */
    async function flood(): Promise<number[]> {
      let flooding = true;
      const pushing = (async () => {
        for (let i = 0; i < PUSHES; i += BURST) {
          for (let j = 0; j < BURST; j++) room.emit('promo', { n: i + j, blob: BLOB });
          await sleep(5);
        }
        flooding = false;
      })();
      const roundTrips: number[] = [];
      while (flooding) roundTrips.push(await heartbeatMs(reader));
      await pushing;
      return roundTrips;
    }

    const warnings: string[] = [];
    vi.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    const slowId = slow.id ?? '';
    tcpOf(slow).pause();
    const withSlowReader = await flood();

    // Cut on the server, not just stalled: gone from the namespace, and counted.
    await eventually(() => !nsp.sockets.has(slowId), 'the slow socket to be cut');
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^realtime_slow_socket_disconnects_total 1$/m);
    // At the bound: what it held when cut is the bound plus at most the one push that crossed it.
    // Named by its Engine.IO connection id (the bound lives on the connection, below the namespace).
    const cut = warnings.find((w) => w.startsWith(`connection ${slow.io.engine.id} cut: `));
    const held = Number(/cut: (\d+) bytes/.exec(cut ?? '')?.[1]);
    expect(held).toBeGreaterThan(BOUND);
    expect(held).toBeLessThanOrEqual(BOUND + BLOB.length + 100);
    await eventually(() => received === PUSHES, `all ${PUSHES} broadcasts at the reader (got ${received})`);
    expect(reader.connected).toBe(true);
    vi.restoreAllMocks();

    // Flat: the same flood without any slow reader gives the reader the same round trips.
    const withoutSlowReader = await flood();
    await eventually(() => received === 2 * PUSHES, 'the second flood at the reader');
    expect(percentile(withSlowReader, 0.5)).toBeLessThanOrEqual(percentile(withoutSlowReader, 0.5) * 2 + 20);
    expect(percentile(withSlowReader, 0.9)).toBeLessThanOrEqual(percentile(withoutSlowReader, 0.9) * 2 + 50);
  });
});
