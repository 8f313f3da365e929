import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import { Socket as NetSocket, type AddressInfo } from 'node:net';
import { Server, type Namespace } from 'socket.io';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TEST_REDIS_URL, dropKeys, uniqueName } from '../../../../test/support/services.js';
import { withOnePieceFrames } from './one-piece-frames.js';
import { RealtimeIoAdapter } from './realtime-io.adapter.js';

/**
 * Pins what withOnePieceFrames relies on in socket.io-adapter (an internal: `_encode` sets a
 * broadcast's `wsPreEncodedFrame` to `[header, payload]`) and checks that members still get every
 * broadcast byte for byte, through the in-memory adapter and through the Redis adapter from another
 * instance. If an upgrade changes the internal, the first test says so.
 */

type Encode = (packet: unknown, options: { wsPreEncodedFrame?: unknown }) => unknown[];
const PACKET = { type: 2, nsp: '/realtime', data: ['availability-update', { categoryId: 'c1', version: 7 }] };

function encodeOf(nsp: Namespace): Encode {
  const encode = (nsp.adapter as unknown as { _encode?: Encode })._encode;
  if (typeof encode !== 'function') throw new Error('socket.io-adapter no longer has Adapter#_encode: withOnePieceFrames does nothing');
  return encode.bind(nsp.adapter);
}

function defaultAdapter(server: Server): Parameters<Server['adapter']>[0] {
  const adapter = server.adapter();
  if (!adapter) throw new Error('a new Socket.IO server has no adapter');
  return adapter;
}

/**
 * Watches what the server hands its TCP sockets: every WebSocket text frame (first byte 0x81) must
 * arrive in one write, header and payload together. Frames written in two pieces show up as a write of
 * a bare header, which is not a whole frame. Only unmasked frames count: those are the server's (the
 * clients in this process mask theirs, so a pong of theirs is neither whole nor partial here).
 */
function watchFrameWrites(): { whole: number; partial: number } {
  const seen = { whole: 0, partial: 0 };
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the original, called below with each socket as `this`
  const write = NetSocket.prototype.write;
  vi.spyOn(NetSocket.prototype, 'write').mockImplementation(function (this: NetSocket, ...args: Parameters<NetSocket['write']>) {
    const [chunk] = args;
    if (Buffer.isBuffer(chunk) && chunk[0] === 0x81 && ((chunk[1] ?? 0) & 0x80) === 0) {
      if (chunk.length === frameLength(chunk)) seen.whole++;
      else seen.partial++;
    }
    return write.apply(this, args);
  });
  return seen;
}

/** A WebSocket frame's whole length from its header (unmasked, as a server sends it). */
function frameLength(frame: Buffer): number {
  const short = (frame[1] ?? 0) & 0x7f;
  if (short < 126) return 2 + short;
  if (short === 126) return 4 + frame.readUInt16BE(2);
  return 10 + Number(frame.readBigUInt64BE(2));
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(): Promise<{ http: HttpServer; url: string }> {
  const http = createServer();
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
  return { http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

/** Members joined to room `r` (the server side joins them on connection). */
async function members(url: string, count: number): Promise<ClientSocket[]> {
  const sockets = Array.from({ length: count }, () => connectClient(`${url}/realtime`, { forceNew: true, transports: ['websocket'] }));
  cleanups.push(() => {
    for (const socket of sockets) socket.close();
  });
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.once('joined', () => resolve()))));
  return sockets;
}

function joinOnConnect(nsp: Namespace): void {
  nsp.on('connection', (socket) => {
    void socket.join('r');
    socket.emit('joined');
  });
}

/** Payloads across the three WebSocket length encodings (7-bit, 16-bit and 64-bit). */
const PAYLOADS = ['small', 'm'.repeat(1_000), 'l'.repeat(70_000)];

async function receivesEveryPayload(sockets: ClientSocket[], broadcast: (text: string) => void): Promise<void> {
  const got = sockets.map((socket) => {
    const seen: string[] = [];
    socket.on('update', (payload: { text: string }) => seen.push(payload.text));
    return seen;
  });
  for (const text of PAYLOADS) broadcast(text);
  await vi.waitFor(() => expect(got.every((seen) => seen.length === PAYLOADS.length)).toBe(true), { timeout: 5_000 });
  for (const seen of got) expect(seen).toEqual(PAYLOADS);
}

describe('withOnePieceFrames', () => {
  it('socket.io-adapter still builds a broadcast frame as header and payload, which is what gets joined', () => {
    const plain = new Server().of('/realtime');
    const options: { wsPreEncodedFrame?: unknown } = {};
    const encoded = encodeOf(plain)(PACKET, options);
    expect(encoded).toHaveLength(1);
    const frame = options.wsPreEncodedFrame as Buffer[];
    expect(frame).toHaveLength(2);
    expect(frame[1]).toEqual(Buffer.from(`4${String(encoded[0])}`));

    const server = new Server();
    server.adapter(withOnePieceFrames(defaultAdapter(server)));
    const joined: { wsPreEncodedFrame?: unknown } = {};
    expect(encodeOf(server.of('/realtime'))(PACKET, joined)).toEqual(encoded);
    expect(joined.wsPreEncodedFrame).toEqual([Buffer.concat(frame)]);
  });

  it('members get every broadcast byte for byte, each written in one piece', async () => {
    const { http, url } = await listen();
    const server = new Server(http, { serveClient: false });
    cleanups.push(() => server.close());
    server.adapter(withOnePieceFrames(defaultAdapter(server)));
    joinOnConnect(server.of('/realtime'));
    const sockets = await members(url, 3);
    const writes = watchFrameWrites();
    await receivesEveryPayload(sockets, (text) => server.of('/realtime').to('r').emit('update', { text }));
    expect(writes).toEqual({ whole: PAYLOADS.length * sockets.length, partial: 0 });
  });

  it("the service's adapter joins frames with the Redis adapter too, for a broadcast from another instance", async () => {
    const prefix = uniqueName('frames');
    cleanups.push(() => dropKeys(prefix));
    const config = { corsOrigins: '*' as const, maxPayloadBytes: 100_000, maxSocketBufferBytes: 1024 * 1024, redisUrl: TEST_REDIS_URL, redisKeyPrefix: prefix };
    const instances = await Promise.all(
      [0, 1].map(async () => {
        const { http, url } = await listen();
        const adapter = new RealtimeIoAdapter(http, config);
        const server = adapter.createIOServer(0);
        cleanups.push(async () => {
          await server.close();
          await adapter.dispose();
        });
        return { server, url };
      }),
    );
    const [sender, receiver] = instances as [(typeof instances)[0], (typeof instances)[0]];
    joinOnConnect(receiver.server.of('/realtime'));
    const senderNsp = sender.server.of('/realtime');
    expect(senderNsp.adapter.constructor.name).toBe('RedisAdapter');
    const sockets = await members(receiver.url, 2);
    // The Redis adapter's subscriptions settle asynchronously: wait until the sender sees the receiver.
    await vi.waitFor(async () => expect(await senderNsp.in('r').fetchSockets()).toHaveLength(2), { timeout: 5_000 });
    const writes = watchFrameWrites();
    await receivesEveryPayload(sockets, (text) => senderNsp.to('r').emit('update', { text }));
    expect(writes).toEqual({ whole: PAYLOADS.length * sockets.length, partial: 0 });
  });
});
