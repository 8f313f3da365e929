import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { INestApplicationContext, WsMessageHandler } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Observable } from 'rxjs';
import { Server, type Namespace, type ServerOptions, type Socket } from 'socket.io';
import type { AppConfig } from '#config';
import { REALTIME_NAMESPACE } from './socket-types.js';

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
 * - keeps an idle connection light: once a socket is connected it drops the raw HTTP request and the
 *   handshake's headers and token (everything needed was read by the auth middleware), and message
 *   handlers are plain listeners instead of one RxJS pipeline per handler and socket.
 */
export class RealtimeIoAdapter extends IoAdapter {
  constructor(
    appOrHttpServer: INestApplicationContext | object,
    private readonly config: Pick<AppConfig, 'corsOrigins' | 'maxPayloadBytes'>,
  ) {
    super(appOrHttpServer);
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
    server.of('/').use((_socket, next) => {
      next(Object.assign(new Error('Invalid namespace'), { data: { code: 'FORBIDDEN', message: `connect to the ${REALTIME_NAMESPACE} namespace` } }));
    });
    return server;
  }

  override bindClientConnect(server: Namespace, callback: (socket: Socket) => void): void {
    server.on('connection', (socket: Socket) => {
      releaseHandshake(socket);
      callback(socket);
    });
  }

  /**
   * Replaces Nest's default (an RxJS `fromEvent` pipeline per handler and socket), which measured
   * about 29 KB per idle socket with this gateway's seven handlers; plain listeners cost a few hundred
   * bytes. One plain listener per message and socket; the last argument is the acknowledgement when it is a
   * function, a single argument is the payload, several arguments arrive as an array (and fail
   * validation). A value a handler returns is sent back like Nest does: `{ event, data }` as an emit,
   * anything else through the ack unless the handler answers itself (`@Ack()`).
   */
  override bindMessageHandlers(client: NestSocket, handlers: WsMessageHandler[], transform: (data: unknown) => Observable<unknown>): void {
    const socket = client;
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(String(message), (...args: unknown[]) => {
        const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (response: unknown) => void) : undefined;
        const data = args.length <= 1 ? args[0] : args;
        // A throw here would escape Socket.IO's dispatch and crash the process; log it instead.
        try {
          transform(callback(data, ack)).subscribe({
            next: (response) => {
              if (response === undefined || response === null) return;
              if (isEventResponse(response)) socket.emit(response.event, response.data);
              else if (!isAckHandledManually && ack) ack(response);
            },
            error: (error: unknown) => this.logger.error(error),
          });
        } catch (error) {
          this.logger.error(error);
        }
      });
    }
  }
}

function isEventResponse(value: unknown): value is { event: string; data: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string';
}

/**
 * Socket.IO's memory guidance: the raw request (with its socket, parser state and headers) is only
 * needed during the handshake. The token and headers go too; they also would otherwise travel with
 * the socket's description to other instances (`fetchSockets` through a cluster adapter).
 */
function releaseHandshake(socket: Socket): void {
  (socket.conn as unknown as { request: IncomingMessage | null }).request = null;
  socket.handshake.headers = {};
  socket.handshake.auth = {};
}
