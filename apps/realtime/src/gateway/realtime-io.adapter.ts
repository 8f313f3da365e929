import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Logger, type INestApplicationContext, type WsMessageHandler } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { isObservable, type Observable } from 'rxjs';
import { Server, type Namespace, type ServerOptions, type Socket } from 'socket.io';
import type { AppConfig } from '#config';
import { watchOutages } from '#lock-store';
import { wantsBothAnswers } from './answer.js';
import { withOnePieceFrames } from './one-piece-frames.js';
import { REALTIME_NAMESPACE } from './socket-types.js';
import { boundWriteBuffer, type EngineConnection, type WriteBound } from './slow-reader.js';

// package.json pins socket.io to the release @nestjs/platform-socket.io depends on, so both share one copy.
type NestServerOptions = Parameters<IoAdapter['createIOServer']>[1];
type NestServer = ReturnType<IoAdapter['createIOServer']>;
type NestSocket = Parameters<IoAdapter['bindMessageHandlers']>[0];

/**
 * The Socket.IO adapter of the service (install with `app.useWebSocketAdapter(...)` before listen):
 *
 * - attaches Socket.IO to the HTTP server (same port as the HTTP API);
 * - `maxHttpBufferSize = MAX_PAYLOAD_BYTES`: bigger messages are refused by the transport;
 * - checks the `Origin` of every handshake against `WEBSOCKET_CORS_ORIGIN` (CORS headers alone do not
 *   stop a WebSocket upgrade); requests without an Origin (non-browser clients) are let through;
 * - refuses connections to the main namespace `/`: every client belongs in `/realtime`;
 * - with `REDIS_URL`, installs the Socket.IO Redis adapter (two connections of its own, pub and sub):
 *   room broadcasts, owner notifications, `fetchSockets` (disconnect grace) and server-side requests
 *   (`/stats`) then span every instance. Channels are named after `REDIS_KEY_PREFIX`, so deployments
 *   sharing a Redis stay apart;
 * - broadcasts write each member's frame as one buffer ({@link withOnePieceFrames});
 * - bounds what one connection may have waiting to be written (`WS_MAX_BUFFERED_BYTES`): a slow reader
 *   is cut there ({@link boundWriteBuffer}) and `onSlowSocket` is told (counted in `/metrics`);
 * - keeps an idle connection light: once a socket is connected it drops the raw HTTP request and the
 *   handshake's headers and token (everything needed was read by the auth middleware), and message
 *   handlers are plain listeners instead of one RxJS pipeline per handler and socket.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private readonly clusterClients: Redis[] = [];
  /** One bound object for every connection: a connection keeps a reference, not closures of its own. */
  private readonly writeBound: WriteBound;

  constructor(
    appOrHttpServer: INestApplicationContext | object,
    private readonly config: Pick<AppConfig, 'corsOrigins' | 'maxPayloadBytes' | 'maxSocketBufferBytes' | 'redisUrl' | 'redisKeyPrefix'>,
    onSlowSocket: () => void = () => undefined,
  ) {
    super(appOrHttpServer);
    const maxBytes = config.maxSocketBufferBytes;
    this.writeBound = {
      maxBytes,
      onExceeded: (conn, bytes) => {
        this.logger.warn(`connection ${conn.id ?? '?'} cut: ${bytes} bytes waiting to be written (a slow reader; bound ${maxBytes})`);
        onSlowSocket();
      },
    };
  }

  override createIOServer(port: number, options?: NestServerOptions): NestServer {
    const allowed = this.config.corsOrigins;
    const serverOptions: Partial<ServerOptions> = {
      ...(options as Partial<ServerOptions> | undefined),
      maxHttpBufferSize: this.config.maxPayloadBytes,
      serveClient: false,
      // Engine.IO connections that never join a namespace are dropped sooner than the 45 s default.
      connectTimeout: 10_000,
      cors: { origin: allowed === '*' ? '*' : allowed, methods: ['GET', 'POST'] },
      allowRequest: (req, callback) => {
        const origin = req.headers.origin;
        callback(null, allowed === '*' || origin === undefined || allowed.includes(origin));
      },
    };
    const httpServer = this.httpServer as HttpServer | undefined;
    const server = httpServer && port === 0 ? new Server(httpServer, serverOptions) : new Server(port, serverOptions);
    if (this.config.redisUrl !== undefined) server.adapter(this.clusterAdapter(this.config.redisUrl));
    const adapter = server.adapter();
    if (adapter) server.adapter(withOnePieceFrames(adapter));
    server.of('/').use((_socket, next) => {
      next(Object.assign(new Error('Invalid namespace'), { data: { code: 'FORBIDDEN', message: `connect to the ${REALTIME_NAMESPACE} namespace` } }));
    });
    return server;
  }

  /** Closes the cluster adapter's connections once Nest has closed the servers. */
  override async dispose(): Promise<void> {
    await super.dispose();
    await Promise.all(this.clusterClients.splice(0).map((client) => client.quit().catch(() => client.disconnect())));
  }

  private clusterAdapter(redisUrl: string): ReturnType<typeof createAdapter> {
    const logger = new Logger('SocketIoRedisAdapter');
    const pub = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
    const sub = pub.duplicate();
    for (const [name, client] of [['pub', pub], ['sub', sub]] as const) {
      watchOutages(client, { down: (error) => logger.warn(`${name} connection: ${error.message} (broadcasts stay on this instance until it is back)`) });
    }
    // The adapter fires publish() without handling its promise: while Redis is away that would be an
    // unhandled rejection, which ends the process. The local part of a broadcast is delivered anyway.
    type Publish = (channel: string, message: string | Buffer) => Promise<number>;
    const target = pub as unknown as { publish: Publish };
    const publish = target.publish.bind(pub);
    target.publish = (channel, message) => publish(channel, message).catch(() => 0);
    this.clusterClients.push(pub, sub);
    // Answers to fetchSockets go to the asking instance only, not to every instance.
    return createAdapter(pub, sub, { key: `${this.config.redisKeyPrefix}:socket.io`, publishOnSpecificResponseChannel: true });
  }

  override bindClientConnect(server: Namespace, callback: (socket: Socket) => void): void {
    server.on('connection', (socket: Socket) => {
      // Read before the handshake's auth is dropped: one flag, kept only when asked for.
      if (wantsBothAnswers(socket.handshake)) (socket.data as { answersBoth?: true }).answersBoth = true;
      releaseHandshake(socket);
      boundWriteBuffer(socket.conn as unknown as EngineConnection, this.writeBound);
      callback(socket);
    });
  }

  /**
   * Replaces Nest's default (an RxJS `fromEvent` pipeline per handler and socket), which measured
   * about 29 KB per idle socket with this gateway's seven handlers. Here one shared listener per
   * message name serves every socket (Socket.IO calls it with the socket as `this`) and looks up the
   * socket's handler in one small table, so an idle socket carries no closures of its own. The last
   * argument is the acknowledgement when it is a function, a single argument is the payload, several
   * arguments arrive as an array (and fail validation). A value a handler returns is sent back like
   * Nest does: `{ event, data }` as an emit, anything else through the ack unless the handler answers
   * itself (`@Ack()`). Nest's `transform` (an Observable per message) is bypassed: handlers answer
   * through a promise, which is awaited directly; an Observable a handler returns is still subscribed.
   */
  override bindMessageHandlers(client: NestSocket, handlers: WsMessageHandler[], _transform: (data: unknown) => Observable<unknown>): void {
    // A dense array (not a keyed object): the smallest table V8 offers for a handful of entries.
    const table: HandlerTable = [];
    for (const { message, callback, isAckHandledManually } of handlers) {
      const { slot, listener } = this.sharedListener(String(message), isAckHandledManually);
      table[slot] = callback;
      client.on(String(message), listener);
    }
    (client as unknown as { [HANDLERS]: HandlerTable })[HANDLERS] = table;
  }

  /** One listener (and table slot) per message name and ack style, shared by every socket. */
  private readonly listeners = new Map<string, { slot: number; listener: (this: NestSocket, ...args: unknown[]) => void }>();

  private sharedListener(name: string, ackHandledManually: boolean): { slot: number; listener: (this: NestSocket, ...args: unknown[]) => void } {
    const key = `${ackHandledManually ? 1 : 0}${name}`;
    const known = this.listeners.get(key);
    if (known) return known;
    const slot = this.listeners.size;
    const fail = (error: unknown): void => this.logger.error(error);
    // A plain function: Socket.IO calls listeners with the socket as `this`, which is what lets one
    // function serve every socket.
    const listener = function (this: NestSocket, ...args: unknown[]): void {
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the socket, captured for the answer callback below
      const socket = this;
      const callback = (socket as unknown as { [HANDLERS]?: HandlerTable })[HANDLERS]?.[slot];
      if (!callback) return;
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (response: unknown) => void) : undefined;
      const data = args.length <= 1 ? args[0] : args;
      const answer = (response: unknown): void => {
        if (isObservable(response)) {
          response.subscribe({ next: answer, error: fail });
        } else if (response !== undefined && response !== null) {
          if (isEventResponse(response)) socket.emit(response.event, response.data);
          else if (!ackHandledManually && ack) ack(response);
        }
      };
      // A throw here would escape Socket.IO's dispatch and crash the process; log it instead.
      try {
        const result: unknown = callback(data, ack);
        if (result instanceof Promise) result.then(answer, fail);
        else answer(result);
      } catch (error) {
        fail(error);
      }
    };
    const entry = { slot, listener };
    this.listeners.set(key, entry);
    return entry;
  }
}

/** Per socket: slot of a message name → Nest's handler for it (bound to the socket). */
type HandlerTable = Array<WsMessageHandler['callback'] | undefined>;
const HANDLERS = Symbol('realtime.handlers');

function isEventResponse(value: unknown): value is { event: string; data: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string';
}

/**
 * Socket.IO's memory guidance: the raw request (with its socket, parser state and headers) is only
 * needed during the handshake. The token and headers go too; they also would otherwise travel with
 * the socket's description to other instances (`fetchSockets` through a cluster adapter).
 */
const ENGINE_RESPONSE_CLOSE = /^\(\) => this\.emit\("close"\)$/;

function releaseHandshake(socket: Socket): void {
  const conn = socket.conn as unknown as { request: IncomingMessage | null };
  const raw = conn.request?.socket;
  // Engine.IO's upgrade path leaves `socket.once('close', () => this.emit('close'))` on the TCP socket
  // for the whole connection; it retains a WebSocketResponse and through it the upgrade request
  // (headers, raw headers, parser state): about a kilobyte per idle socket. Nothing listens to that
  // response's 'close' here (no Engine.IO middlewares), so the listener goes.
  if (raw) {
    for (const listener of raw.rawListeners('close')) {
      const wrapped = (listener as { listener?: (...args: unknown[]) => void }).listener;
      if (wrapped && ENGINE_RESPONSE_CLOSE.test(String(wrapped))) raw.removeListener('close', wrapped);
    }
  }
  conn.request = null;
  socket.handshake.headers = {};
  socket.handshake.auth = {};
}
