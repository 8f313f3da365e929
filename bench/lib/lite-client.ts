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
  /** Sent as `auth.token` in the namespace CONNECT packet. */
  token?: string;
  /**
   * The source address (e.g. `127.0.0.3`): every source address has its own ~28,000 ephemeral ports
   * towards one server port, so many thousands of sockets are spread over several.
   */
  localAddress?: string;
  /** Every server event (that passes `filter`): name and first argument. `raw` is the whole frame. */
  onEvent?: (event: string, data: unknown, raw: string) => void;
  /**
   * Sees every event frame first, with or without onEvent; frames for which it answers false are not
   * JSON-parsed (onEvent is not called). Used by watchers that only look at (or count) some events.
   */
  filter?: (raw: string) => boolean;
}

/** The service's namespace. */
const NAMESPACE = '/realtime';
/** How long a request may stay unanswered before it counts as such. */
const REQUEST_TIMEOUT_MS = 10_000;

export class LiteSocket {
  private nextAck = 0;
  private readonly acks = new Map<number, (data: unknown) => void>();
  /** What follows the packet type in every namespace packet. */
  private readonly prefix = `${NAMESPACE},`;
  closed = false;

  private constructor(private readonly ws: WebSocket) {}

  static connect(options: LiteConnectOptions): Promise<LiteSocket> {
    const base = new URL(options.url);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    base.pathname = '/socket.io/';
    base.searchParams.set('EIO', '4');
    base.searchParams.set('transport', 'websocket');
    const ws = new WebSocket(base.toString(), { perMessageDeflate: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const socket = new LiteSocket(ws);
    return new Promise<LiteSocket>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new Error('connect timeout')), 20_000);
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
          ws.send(`40${socket.prefix}${auth}`);
          return;
        }
        if (type !== 52 /* '4' message */) return;
        const packetType = raw.charCodeAt(1);
        const body = raw.slice(2 + socket.prefix.length);
        if (packetType === 50 /* '2' EVENT */) {
          if ((options.filter?.(raw) ?? true) && options.onEvent) {
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

  /**
   * Emits with an acknowledgement; resolves with the ack's first argument, or with
   * `{ success: false, code: 'UNANSWERED' }` after `timeoutMs` (a request the server never answered
   * counts as a failure, never as work done).
   */
  request<T = Record<string, unknown>>(event: string, data: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    const id = this.nextAck++;
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => {
        if (this.acks.delete(id)) resolve({ success: false, code: 'UNANSWERED' } as T);
      }, timeoutMs);
      this.acks.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
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

/** Runs `fn` over `items` in order, at most `limit` at a time; rejects with the first failure. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Connects `count` sockets, `concurrency` handshakes at a time (three attempts each). */
export async function connectMany(
  count: number,
  make: (index: number) => LiteConnectOptions,
  concurrency = 100,
): Promise<LiteSocket[]> {
  const sockets: LiteSocket[] = new Array<LiteSocket>(count);
  await forEachLimit(Array.from({ length: count }, (_, i) => i), concurrency, async (index) => {
    let attempt = 0;
    for (;;) {
      try {
        sockets[index] = await LiteSocket.connect(make(index));
        return;
      } catch (error) {
        if (++attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  });
  return sockets;
}
