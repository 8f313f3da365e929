import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '#config';
import type { InflightRequests } from '../shutdown/inflight-requests.js';
import { REQUEST_DRAIN_MS, ShutdownSteps } from '../shutdown/shutdown-steps.js';
import { DisconnectGrace } from './disconnect-grace.js';
import { RealtimeNamespaceRef } from './realtime-namespace.js';
import { Responder } from './responder.js';
import type { RealtimeSocket } from './socket-types.js';

/**
 * The gateway's part of the graceful shutdown, declared in {@link ShutdownSteps}:
 *
 * - refuse-new: Engine.IO handshakes that still arrive on open HTTP connections are refused, and the
 *   disconnect grace stops, so no lock is released because of the disconnections below (the locks
 *   stay until their client, reconnected elsewhere, unlocks them, or they expire);
 * - finish-in-flight: per socket, waits until none of its requests is in flight (the Responder
 *   counts them), then closes its transport (`socket.conn.close()`: queued answers are flushed
 *   first). The client sees `transport close`, which socket.io-client answers by reconnecting by
 *   itself (unlike a server-side `socket.disconnect()`, `io server disconnect`, which it does not retry);
 * - flush: lets the last coalesced `availability-update`s go out.
 */
@Injectable()
export class GatewayShutdown implements OnModuleInit {
  private readonly logger = new Logger('Shutdown');
  private refusing = false;
  private started = 0;
  private inflightAtStart = 0;
  private answeredBefore = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly steps: ShutdownSteps,
    private readonly namespace: RealtimeNamespaceRef,
    private readonly responder: Responder,
    private readonly grace: DisconnectGrace,
  ) {}

  onModuleInit(): void {
    this.steps.register({ name: 'socket.io: refuse handshakes, stop the disconnect grace', phase: 'refuse-new', run: () => this.refuseNew() });
    this.steps.register({ name: 'socket.io: answer requests in flight, close transports', phase: 'finish-in-flight', run: () => this.drainSockets() });
    this.steps.register({ name: 'socket.io: last availability updates', phase: 'flush', run: () => this.flush() });
  }

  private refuseNew(): void {
    const { inflight } = this.responder;
    this.started = Date.now();
    this.inflightAtStart = inflight.count();
    this.answeredBefore = inflight.answered;
    this.logger.log(`${this.namespace.get()?.sockets.size ?? 0} socket(s), ${this.inflightAtStart} request(s) in flight`);
    const engine = this.namespace.get()?.server.engine;
    if (engine && !this.refusing) {
      const allow = engine.opts.allowRequest;
      // Refused with 403: socket.io-client treats it as a connection error and retries with backoff.
      engine.opts.allowRequest = (req, callback) => {
        if (this.refusing) callback('the server is shutting down', false);
        else if (allow) allow(req, callback);
        else callback(null, true);
      };
    }
    this.refusing = true;
    // Before any socket is closed: a disconnection from now on is the shutdown's, not the user leaving.
    this.grace.stop();
  }

  /**
   * Closes every socket's transport once it has no request in flight, or when REQUEST_DRAIN_MS
   * (from the start of the shutdown) is reached. Sockets that finish their handshake meanwhile are
   * closed as they arrive.
   */
  private async drainSockets(): Promise<{ sockets: number; inflightAtStart: number; answered: number; cut: number }> {
    const { inflight } = this.responder;
    const nsp = this.namespace.get();
    const figures = (sockets: number, cut: number) => ({
      sockets,
      inflightAtStart: this.inflightAtStart,
      answered: inflight.answered - this.answeredBefore,
      cut,
    });
    if (!nsp) return figures(0, 0);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, this.started + REQUEST_DRAIN_MS - Date.now()));
    });
    let cut = 0;
    const seen = new Set<string>();
    const pending: Array<Promise<void>> = [];
    const visit = (socket: RealtimeSocket): void => {
      if (seen.has(socket.id)) return;
      seen.add(socket.id);
      pending.push(
        whenIdle(socket, inflight, expired).then((idle) => {
          if (!idle) cut += inflight.count(socket.id);
          socket.conn.close();
        }),
      );
    };
    nsp.on('connection', visit);
    try {
      for (const socket of nsp.sockets.values()) visit(socket);
      // `pending` grows while a late handshake completes; wait until it stops growing.
      for (let settled = 0; settled < pending.length; ) {
        const batch = pending.slice(settled);
        await Promise.all(batch);
        settled += batch.length;
      }
    } finally {
      nsp.off('connection', visit);
      clearTimeout(timer);
    }
    return figures(seen.size, cut);
  }

  /** A change made in the last interval has its availability-update waiting in the coalescer. */
  private async flush(): Promise<void> {
    if (this.config.broadcastIntervalMs > 0) await new Promise((resolve) => setTimeout(resolve, this.config.broadcastIntervalMs + 20));
  }
}

/** Resolves `true` once the socket has no request in flight, `false` if `expired` comes first. */
async function whenIdle(socket: RealtimeSocket, inflight: InflightRequests, expired: Promise<false>): Promise<boolean> {
  for (;;) {
    const idle = await Promise.race([inflight.idle(socket.id).then(() => true as const), expired]);
    if (!idle) return false;
    // A request dispatched to the gateway reaches the Responder a few microtasks later: look again
    // after the current turn of the event loop, so one on its way is not cut off.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (inflight.count(socket.id) === 0) return true;
  }
}
