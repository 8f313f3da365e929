import type { EventEmitter } from 'node:events';

/** The parts of an Engine.IO connection (`socket.conn`) the bound needs. */
export interface EngineConnection extends EventEmitter {
  /** Its transport; a WebSocket transport holds the `ws` socket, whose `bufferedAmount` is what the kernel did not take yet. */
  transport?: { socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): unknown;
}

interface Packet {
  data?: unknown;
}

/**
 * Bounds what one connection may have waiting to be written: the packets Engine.IO queues while its
 * transport is busy (`writeBuffer`) plus what the WebSocket has not handed to the kernel yet. A client
 * that stops reading makes both grow with every broadcast; past `maxBytes` the connection is cut at
 * once (`terminate`, not a polite close that would wait behind the backlog) and `onExceeded` is told,
 * so one slow reader cannot grow the server's memory or hold everyone's broadcasts.
 *
 * Counted incrementally (one addition per packet, the queue is never walked): +size when a packet is
 * queued (`packetCreate`), 0 when the queue is handed to the transport (`flush`).
 */
export function boundWriteBuffer(conn: EngineConnection, maxBytes: number, onExceeded: (bufferedBytes: number) => void): void {
  let queued = 0;
  let cut = false;
  const onPacket = (packet: Packet) => {
    if (cut) return;
    queued += sizeOf(packet.data);
    const buffered = queued + (conn.transport?.socket?.bufferedAmount ?? 0);
    if (buffered <= maxBytes) return;
    cut = true;
    onExceeded(buffered);
    const ws = conn.transport?.socket;
    if (typeof ws?.terminate === 'function') ws.terminate();
    else conn.close(true);
  };
  const onFlush = () => {
    queued = 0;
  };
  conn.on('packetCreate', onPacket);
  conn.on('flush', onFlush);
  conn.once('close', () => {
    conn.off('packetCreate', onPacket);
    conn.off('flush', onFlush);
  });
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
