import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { boundWriteBuffer, type EngineConnection } from './slow-reader.js';

function connection(bufferedAmount = 0) {
  const ws = { bufferedAmount, terminate: vi.fn() };
  const conn = Object.assign(new EventEmitter(), { transport: { socket: ws }, close: vi.fn() }) as EngineConnection;
  return { conn, ws };
}

describe('boundWriteBuffer', () => {
  it('lets a connection whose queue is flushed go on forever', () => {
    const { conn, ws } = connection();
    const exceeded = vi.fn();
    boundWriteBuffer(conn, { maxBytes: 1000, onExceeded: exceeded });
    for (let i = 0; i < 100; i++) {
      conn.emit('packetCreate', { data: 'x'.repeat(600) });
      conn.emit('flush', []);
    }
    expect(exceeded).not.toHaveBeenCalled();
    expect(ws.terminate).not.toHaveBeenCalled();
  });

  it('cuts the connection once queued packets plus the WebSocket backlog pass the bound, once', () => {
    const { conn, ws } = connection(500);
    const exceeded = vi.fn();
    boundWriteBuffer(conn, { maxBytes: 1000, onExceeded: exceeded });
    conn.emit('packetCreate', { data: 'x'.repeat(400) });
    expect(exceeded).not.toHaveBeenCalled();
    conn.emit('packetCreate', { data: Buffer.alloc(101) });
    expect(exceeded).toHaveBeenCalledWith(conn, 1001);
    expect(ws.terminate).toHaveBeenCalledTimes(1);
    conn.emit('packetCreate', { data: 'more' });
    expect(exceeded).toHaveBeenCalledTimes(1);
  });

  it('closes discarding the queue when the transport is not a WebSocket (polling)', () => {
    const close = vi.fn();
    const conn = Object.assign(new EventEmitter(), { transport: {}, close }) as EngineConnection;
    boundWriteBuffer(conn, { maxBytes: 10, onExceeded: () => undefined });
    conn.emit('packetCreate', { data: 'x'.repeat(11) });
    expect(close).toHaveBeenCalledWith(true);
  });
});
