import WebSocket from 'ws';

/**
 * A minimal Socket.IO v4 client over one WebSocket (Engine.IO v4, websocket transport only): the
 * handshake, `auth` on namespace connect, events, acknowledgements and ping/pong. It speaks exactly
 * the frames socket.io-client sends, at a fraction of its CPU and memory, so that thousands of
 * clients in one load process measure the server rather than the client. No reconnection.
 */
export interface LiteConnectOptions {
  /** `http://host:port` of the server. */
  url: string;
  namespace?: string;
  /** Sent as `auth.token` in the namespace CONNECT packet. */
  token?: string;
  /** Handshake query (anonymous mode: `userId`). */
  query?: Record<string, string>;
  /** Every server event: name and first argument. `raw` is the whole frame. */
  onEvent?: (event: string, data: unknown, raw: string) => void;
  /**
   * Cheap pre-filter: frames for which it answers false are not JSON-parsed (onEvent is not called).
   * Used by watchers that only look at some events.
   */
  filter?: (raw: string) => boolean;
  timeoutMs?: number;
}

export class LiteSocket {
  private nextAck = 0;
  private readonly acks = new Map<number, (data: unknown) => void>();
  private readonly prefix: string;
  closed = false;
  sid = '';

  private constructor(
    private readonly ws: WebSocket,
    namespace: string,
  ) {
    this.prefix = namespace === '/' ? '' : `${namespace},`;
  }

  static connect(options: LiteConnectOptions): Promise<LiteSocket> {
    const namespace = options.namespace ?? '/realtime';
    const base = new URL(options.url);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    base.pathname = '/socket.io/';
    base.searchParams.set('EIO', '4');
    base.searchParams.set('transport', 'websocket');
    for (const [key, value] of Object.entries(options.query ?? {})) base.searchParams.set(key, value);
    const ws = new WebSocket(base.toString(), { perMessageDeflate: false });
    const socket = new LiteSocket(ws, namespace);
    const nsPrefix = namespace === '/' ? '' : `${namespace},`;
    return new Promise<LiteSocket>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new Error('connect timeout')), options.timeoutMs ?? 20_000);
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(error);
      };
      ws.on('error', (error) => fail(error));
      ws.on('close', () => {
        socket.closed = true;
        fail(new Error('closed during connect'));
      });
      ws.on('message', (buffer: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        const raw = buffer.toString('utf8');
        const type = raw.charCodeAt(0);
        if (type === 50 /* '2' ping */) {
          ws.send('3');
          return;
        }
        if (type === 48 /* '0' open */) {
          const auth = options.token === undefined ? '' : JSON.stringify({ token: options.token });
          ws.send(`40${nsPrefix}${auth}`);
          return;
        }
        if (type !== 52 /* '4' message */) return;
        const packetType = raw.charCodeAt(1);
        const body = raw.slice(2 + nsPrefix.length);
        if (packetType === 50 /* '2' EVENT */) {
          if (options.onEvent && (!options.filter || options.filter(raw))) {
            const start = body.indexOf('[');
            const args = JSON.parse(body.slice(start)) as [string, unknown];
            options.onEvent(args[0], args[1], raw);
          }
        } else if (packetType === 51 /* '3' ACK */) {
          const start = body.indexOf('[');
          const id = Number(body.slice(0, start));
          const handler = socket.acks.get(id);
          if (handler) {
            socket.acks.delete(id);
            handler((JSON.parse(body.slice(start)) as unknown[])[0]);
          }
        } else if (packetType === 48 /* '0' CONNECT */) {
          socket.sid = (JSON.parse(body || '{}') as { sid?: string }).sid ?? '';
          settled = true;
          clearTimeout(timer);
          ws.removeAllListeners('close');
          ws.on('close', () => {
            socket.closed = true;
            for (const handler of socket.acks.values()) handler({ success: false, code: 'DISCONNECTED' });
            socket.acks.clear();
          });
          resolve(socket);
        } else if (packetType === 52 /* '4' CONNECT_ERROR */) {
          fail(new Error(`connect_error ${body}`));
        }
      });
    });
  }

  emit(event: string, data: unknown): void {
    this.ws.send(`42${this.prefix}${JSON.stringify([event, data])}`);
  }

  /** Emits with an acknowledgement; resolves with the ack's first argument. */
  request<T = Record<string, unknown>>(event: string, data: unknown): Promise<T> {
    const id = this.nextAck++;
    return new Promise<T>((resolve) => {
      this.acks.set(id, resolve as (data: unknown) => void);
      this.ws.send(`42${this.prefix}${id}${JSON.stringify([event, data])}`);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close();
  }

  terminate(): void {
    this.closed = true;
    this.ws.terminate();
  }
}

/** Connects `count` sockets, `concurrency` handshakes at a time. */
export async function connectMany(
  count: number,
  make: (index: number) => LiteConnectOptions,
  concurrency = 100,
): Promise<LiteSocket[]> {
  const sockets: LiteSocket[] = new Array<LiteSocket>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= count) return;
      let attempt = 0;
      for (;;) {
        try {
          sockets[index] = await LiteSocket.connect(make(index));
          break;
        } catch (error) {
          if (++attempt >= 3) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return sockets;
}
