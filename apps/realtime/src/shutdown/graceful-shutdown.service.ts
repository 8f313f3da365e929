import type { Server as HttpServer } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '#config';
import { DisconnectGrace } from '../gateway/disconnect-grace.js';
import { RealtimeNamespaceRef } from '../gateway/realtime-namespace.js';
import { Responder } from '../gateway/responder.js';
import type { RealtimeSocket } from '../gateway/socket-types.js';
import { RMQ_DRAIN_MS, RealtimeRmqServer } from '../rmq/realtime-rmq.server.js';
import type { InflightRequests } from './inflight-requests.js';

/** After this, counted from the signal, the process exits whatever is still running (exit code 1). */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/**
 * How long a socket's requests may take to finish before its transport is closed anyway. A request is
 * bounded well below it: Redis fails a command within 2 s (commandTimeout), the Events service within
 * EVENTS_TIMEOUT_MS (3 s by default).
 */
export const REQUEST_DRAIN_MS = 5_000;

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** What one shutdown did (logged; returned for tests). */
export interface DrainReport {
  /** Sockets of this instance whose transport was closed (their clients reconnect, elsewhere). */
  sockets: number;
  /** Requests in flight when the drain began. */
  inflightAtStart: number;
  /** Requests answered during the drain (those in flight at the start and any that arrived meanwhile). */
  answered: number;
  /** Requests still unanswered when {@link REQUEST_DRAIN_MS} ran out (their sockets were closed anyway). */
  cut: number;
  ms: number;
}

/**
 * Graceful shutdown (SIGTERM, SIGINT, or `app.close()`): runs first among the shutdown hooks, while
 * Redis, RabbitMQ, the changes relay and the broadcasts are all still up, because its module
 * imports the gateway's, and Nest destroys an importing module before the modules it imports.
 *
 * 1. stops taking connections: the HTTP listener is closed (a proxy or load balancer sends new
 *    clients to another instance) and Engine.IO handshakes that still arrive on open HTTP
 *    connections are refused;
 * 2. stops the disconnect grace, so that no lock is released because of the disconnections below
 *    (the locks stay until their client, reconnected elsewhere, unlocks them, or they expire);
 * 3. stops the RabbitMQ consumer (cancel, then wait for the messages in progress; what is not acked
 *    is redelivered to another instance);
 * 4. per socket, waits until none of its requests is in flight (the gateway's Responder counts
 *    them), then closes its transport (`socket.conn.close()`: queued answers are flushed first).
 *    The client sees `transport close`, which socket.io-client answers by reconnecting by itself
 *    (unlike a server-side `socket.disconnect()`, `io server disconnect`, which it does not retry);
 * 5. lets the last coalesced `availability-update`s go out.
 *
 * Then Nest goes on: the changes relay and rate limiter stop, the outbox relay publishes its batch,
 * the servers close, Redis and RabbitMQ connections quit. A hard deadline ends the process after
 * {@link SHUTDOWN_DEADLINE_MS} whatever is left; a shutdown that completed exits 0.
 */
@Injectable()
export class GracefulShutdown implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private draining: Promise<DrainReport> | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private signalled: NodeJS.Signals | undefined;
  private closed = false;
  private listening = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly namespace: RealtimeNamespaceRef,
    private readonly moduleRef: ModuleRef,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Whether a shutdown has begun (new connections are refused). */
  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  onApplicationBootstrap(): void {
    this.listening = true;
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
  }

  async onModuleDestroy(): Promise<void> {
    await this.drain();
  }

  onApplicationShutdown(signal?: string): void {
    this.closed = true;
    // Closed by code (tests, an embedding program): no signal will be re-raised, stop listening.
    if (!signal) this.detach();
  }

  /** Runs the drain once; later calls get the same report. */
  drain(): Promise<DrainReport> {
    this.draining ??= this.run();
    return this.draining;
  }

  private async run(): Promise<DrainReport> {
    const started = Date.now();
    const inflight = this.responder()?.inflight;
    const nsp = this.namespace.get();
    const inflightAtStart = inflight?.count() ?? 0;
    const answeredBefore = inflight?.answered ?? 0;
    this.logger.log(`shutting down: new connections refused; ${nsp?.sockets.size ?? 0} socket(s), ${inflightAtStart} request(s) in flight`);
    this.stopAccepting();
    // Before any socket is closed: a disconnection from now on is the shutdown's, not the user leaving.
    this.moduleRef.get(DisconnectGrace, { strict: false }).onModuleDestroy();
    const rmq = this.rmqServer()?.drain(RMQ_DRAIN_MS);
    const { sockets, cut } = await this.drainSockets(started + REQUEST_DRAIN_MS, inflight);
    await rmq;
    // A change made in the last interval has its availability-update waiting in the coalescer.
    if (this.config.broadcastIntervalMs > 0) await sleep(this.config.broadcastIntervalMs + 20);
    const report: DrainReport = {
      sockets,
      inflightAtStart,
      answered: (inflight?.answered ?? 0) - answeredBefore,
      cut,
      ms: Date.now() - started,
    };
    this.logger.log(
      `drained in ${report.ms} ms: ${report.sockets} socket(s) told to reconnect, ${report.inflightAtStart} request(s) in flight at the start, ` +
        `${report.answered} answered during the drain, ${report.cut} cut off; ${rmq ? 'RabbitMQ consumer stopped; ' : ''}every lock kept`,
    );
    return report;
  }

  /** No new TCP connections; no new Engine.IO sessions on HTTP connections that are still open. */
  private stopAccepting(): void {
    const engine = this.namespace.get()?.server.engine;
    if (engine) {
      const allow = engine.opts.allowRequest;
      // Refused with 403: socket.io-client treats it as a connection error and retries with backoff.
      engine.opts.allowRequest = (req, callback) => {
        if (this.isDraining) callback('the server is shutting down', false);
        else if (allow) allow(req, callback);
        else callback(null, true);
      };
    }
    const server = this.adapterHost.httpAdapter?.getHttpServer() as HttpServer | undefined;
    // Open connections stay (Nest closes them after the drain).
    if (server?.listening) server.close();
  }

  /**
   * Closes every socket's transport once it has no request in flight, or when `until` is reached.
   * Sockets that finish their handshake during the drain are closed as they arrive.
   */
  private async drainSockets(until: number, inflight: InflightRequests | undefined): Promise<{ sockets: number; cut: number }> {
    const nsp = this.namespace.get();
    if (!nsp) return { sockets: 0, cut: 0 };
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, until - Date.now()));
    });
    let cut = 0;
    const seen = new Set<string>();
    const pending: Array<Promise<void>> = [];
    const visit = (socket: RealtimeSocket): void => {
      if (seen.has(socket.id)) return;
      seen.add(socket.id);
      pending.push(
        this.whenIdle(socket, inflight, expired).then((idle) => {
          if (!idle) cut += inflight?.count(socket.id) ?? 0;
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
    return { sockets: seen.size, cut };
  }

  /** Resolves `true` once the socket has no request in flight, `false` if `expired` comes first. */
  private async whenIdle(socket: RealtimeSocket, inflight: InflightRequests | undefined, expired: Promise<false>): Promise<boolean> {
    if (!inflight) return true;
    for (;;) {
      const idle = await Promise.race([inflight.idle(socket.id).then(() => true as const), expired]);
      if (!idle) return false;
      // A request dispatched to the gateway reaches the Responder a few microtasks later: look again
      // after the current turn of the event loop, so one on its way is not cut off.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (inflight.count(socket.id) === 0) return true;
    }
  }

  private responder(): Responder | undefined {
    try {
      return this.moduleRef.get(Responder, { strict: false });
    } catch {
      return undefined;
    }
  }

  /** The RabbitMQ consumer, when RABBITMQ_URL is set. */
  private rmqServer(): RealtimeRmqServer | undefined {
    if (!this.config.rabbitmqUrl) return undefined;
    try {
      return this.moduleRef.get(RealtimeRmqServer, { strict: false });
    } catch {
      return undefined;
    }
  }

  /**
   * Runs beside Nest's own signal listener (`enableShutdownHooks`), which runs the shutdown. This one
   * arms the hard deadline, and turns Nest's final re-raise of the signal (how it ends the process
   * unless `useProcessExit` is set) into exit code 0: the shutdown went through.
   */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.closed && this.signalled) {
      this.detach();
      process.exit(0);
      return;
    }
    if (process.listenerCount(signal) === 1) {
      // Nobody else handles it (no shutdown hooks): do not swallow it, let it end the process.
      this.detach();
      process.kill(process.pid, signal);
      return;
    }
    if (this.signalled) return;
    this.signalled = signal;
    this.logger.log(`${signal} received: graceful shutdown (hard deadline ${SHUTDOWN_DEADLINE_MS / 1000} s)`);
    this.deadline = setTimeout(() => {
      this.logger.error(`shutdown still not finished after ${SHUTDOWN_DEADLINE_MS / 1000} s: exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    // The deadline never keeps a finished process alive.
    this.deadline.unref();
  };

  private detach(): void {
    if (!this.listening) return;
    this.listening = false;
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
