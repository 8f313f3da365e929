import type { EventEmitter } from 'node:events';

/** The parts of an Engine.IO connection (`socket.conn`) the bound needs. */
export interface EngineConnection extends EventEmitter {
  /** Engine.IO's id of the connection (for the log line). */
  readonly id?: string;
  /** Its transport; a WebSocket transport holds the `ws` socket, whose `bufferedAmount` is what the kernel did not take yet. */
  transport?: { socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): unknown;
}

/** One bound, shared by every connection it is applied to. */
export interface WriteBound {
  /** The most a connection may have waiting to be written, in bytes. */
  readonly maxBytes: number;
  /** Told once per connection cut, with what was waiting. */
  readonly onExceeded: (conn: EngineConnection, bufferedBytes: number) => void;
}

interface Packet {
  data?: unknown;
}

const BOUND = Symbol('writeBound');
const QUEUED = Symbol('queuedBytes');

/** A bounded connection carries its bound and its running count as two properties, no closures. */
interface BoundConnection extends EngineConnection {
  [BOUND]: WriteBound;
  [QUEUED]: number;
}

/**
 * Bounds what one connection may have waiting to be written: the packets Engine.IO queues while its
 * transport is busy (`writeBuffer`) plus what the WebSocket has not handed to the kernel yet. A client
 * that stops reading makes both grow with every broadcast; past `maxBytes` the connection is cut at
 * once (`terminate`, not a polite close that would wait behind the backlog) and `onExceeded` is told,
 * so one slow reader cannot grow the server's memory or hold everyone's broadcasts.
 *
 * Counted incrementally (one addition per packet, the queue is never walked): +size when a packet is
 * queued (`packetCreate`), 0 when the queue is handed to the transport (`flush`). The two listeners
 * are module functions shared by every connection (the emitter calls them with the connection as
 * `this`), so an idle connection pays two properties for its bound, not three closures.
 */
export function boundWriteBuffer(conn: EngineConnection, bound: WriteBound): void {
  const target = conn as BoundConnection;
  target[BOUND] = bound;
  target[QUEUED] = 0;
  conn.on('packetCreate', onPacket);
  conn.on('flush', onFlush);
}

function onPacket(this: BoundConnection, packet: Packet): void {
  const queued = (this[QUEUED] += sizeOf(packet.data));
  const buffered = queued + (this.transport?.socket?.bufferedAmount ?? 0);
  const bound = this[BOUND];
  if (buffered <= bound.maxBytes) return;
  // Once: a cut connection may still queue a packet or two while it closes.
  this.off('packetCreate', onPacket);
  this.off('flush', onFlush);
  bound.onExceeded(this, buffered);
  const ws = this.transport?.socket;
  if (typeof ws?.terminate === 'function') ws.terminate();
  else this.close(true);
}

function onFlush(this: BoundConnection): void {
  this[QUEUED] = 0;
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
