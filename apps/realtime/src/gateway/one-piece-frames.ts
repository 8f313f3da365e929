import type { Namespace, Server } from 'socket.io';

/** What `Server#adapter` takes: an adapter class or a function building one for a namespace. */
type AdapterConstructor = Parameters<Server['adapter']>[0];
type Adapter = Namespace['adapter'];

/** What a broadcast's packet options carry once the adapter has encoded the packet. */
interface PacketOptions {
  /** The WebSocket frame every member gets, built once by the adapter: `[header, payload]`. */
  wsPreEncodedFrame?: unknown;
}

type Encode = (this: Adapter, packet: unknown, options: PacketOptions) => unknown;

/**
 * Broadcasts hand each member's WebSocket its frame as one buffer instead of two.
 *
 * The adapter builds a broadcast's frame once (`wsPreEncodedFrame`, header and payload as two
 * buffers) and `ws` writes it to every member; with two buffers each member costs a cork, two
 * writes and a writev, with one buffer a single write. The bytes on the wire are the same. In a
 * 10,000-member room that is about a sixth of the server's CPU per member (`bench/run.ts`,
 * scenario 4): the kernel's send is what remains.
 *
 * It wraps the adapter's own `_encode` (an internal of socket.io-adapter, so pinned by
 * `one-piece-frames.spec.ts`); an adapter without it is left as it is. Works for any adapter built
 * on socket.io-adapter's in-memory one, the Redis adapter included (remote broadcasts go through the
 * same `_encode`).
 */
export function withOnePieceFrames(base: AdapterConstructor): AdapterConstructor {
  const Base = base as unknown as new (nsp: Namespace) => Adapter;
  // A plain function, not an arrow: Socket.IO calls the adapter with `new`; returning an object from
  // a constructor call hands that object back.
  function OnePieceFrames(nsp: Namespace): Adapter {
    const adapter = new Base(nsp);
    joinFrames(adapter);
    return adapter;
  }
  return OnePieceFrames;
}

function joinFrames(adapter: Adapter): void {
  const target = adapter as unknown as { _encode?: Encode };
  const encode = target._encode;
  if (typeof encode !== 'function') return;
  target._encode = function (this: Adapter, packet, options) {
    const encoded = encode.call(this, packet, options);
    const frame = options.wsPreEncodedFrame;
    if (Array.isArray(frame) && frame.length === 2 && Buffer.isBuffer(frame[0]) && Buffer.isBuffer(frame[1])) {
      options.wsPreEncodedFrame = [Buffer.concat([frame[0], frame[1]])];
    }
    return encoded;
  };
}
