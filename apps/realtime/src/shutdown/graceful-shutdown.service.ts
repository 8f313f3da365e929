import type { Server as HttpServer } from 'node:http';
import { Injectable, Logger, type INestApplication, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { errorMessage } from '../common/error-message.js';
import { ShutdownSteps, type DrainFigures } from './shutdown-steps.js';

export { REQUEST_DRAIN_MS } from './shutdown-steps.js';

/** After this, counted from the signal, the process exits whatever is still running (exit code 1). */
export const SHUTDOWN_DEADLINE_MS = 10_000;

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** What one shutdown did (logged; returned for tests). */
export interface DrainReport extends Required<DrainFigures> {
  ms: number;
}

/**
 * The one owner of the graceful shutdown. Modules declare their drain steps with a phase in
 * {@link ShutdownSteps} (refuse new work, stop consumers, finish what is in flight, flush, close
 * transports); this runs them, phase by phase, before Nest tears anything down:
 *
 * - on SIGTERM / SIGINT (its own listeners: Nest's `enableShutdownHooks` is not used, so nothing
 *   races it): arms a hard deadline of {@link SHUTDOWN_DEADLINE_MS}, drains, closes the
 *   application, exits 0 (1 if closing failed or the deadline came first);
 * - on `app.close()` (tests, an embedding program): drains, then closes.
 *
 * So every step runs while Redis, RabbitMQ and the broadcasts are all still up, whatever order Nest
 * destroys the modules in afterwards.
 */
@Injectable()
export class GracefulShutdown implements OnModuleInit {
  private readonly logger = new Logger('Shutdown');
  private draining: Promise<DrainReport> | undefined;
  private managed: (() => Promise<void>) | undefined;
  private closing: Promise<void> | undefined;
  private signalled: NodeJS.Signals | undefined;

  constructor(
    private readonly steps: ShutdownSteps,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    this.steps.register({
      name: 'http: stop listening',
      phase: 'refuse-new',
      run: () => {
        // New TCP connections go elsewhere (a proxy or load balancer); open ones stay until Nest closes them.
        const server = this.adapterHost.httpAdapter?.getHttpServer() as HttpServer | undefined;
        if (server?.listening) server.close();
      },
    });
  }

  /**
   * Takes charge of the application's end: answers the application to use from now on, whose
   * `close()` drains first; the signals run both. (A wrapper rather than a patched `close`: Nest
   * hands out the application behind proxies of its own.)
   */
  manage(app: INestApplication): INestApplication {
    if (this.managed) throw new Error('GracefulShutdown already manages an application');
    const close = (): Promise<void> => {
      this.closing ??= this.drain()
        .then(() => app.close())
        .finally(() => this.detach());
      return this.closing;
    };
    this.managed = close;
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
    return new Proxy(app, {
      get: (target, prop, receiver) => (prop === 'close' ? close : (Reflect.get(target, prop, receiver) as unknown)),
    });
  }

  /** Runs the declared steps once; later calls get the same report. */
  drain(): Promise<DrainReport> {
    this.draining ??= this.run();
    return this.draining;
  }

  private async run(): Promise<DrainReport> {
    const started = Date.now();
    const phases = this.steps.byPhase();
    this.logger.log(`shutting down: ${phases.map(([phase, steps]) => `${phase} (${steps.map((s) => s.name).join(', ')})`).join(' → ')}`);
    const report: DrainReport = { sockets: 0, inflightAtStart: 0, answered: 0, cut: 0, ms: 0 };
    for (const [phase, steps] of phases) {
      const figures = await Promise.all(
        steps.map(async (step) => {
          try {
            return (await step.run()) ?? {};
          } catch (error) {
            this.logger.error(`shutdown step "${step.name}" (${phase}) failed: ${errorMessage(error)}`);
            return {};
          }
        }),
      );
      for (const figure of figures) {
        report.sockets += figure.sockets ?? 0;
        report.inflightAtStart += figure.inflightAtStart ?? 0;
        report.answered += figure.answered ?? 0;
        report.cut += figure.cut ?? 0;
      }
    }
    report.ms = Date.now() - started;
    this.logger.log(
      `drained in ${report.ms} ms: ${report.sockets} socket(s) told to reconnect, ${report.inflightAtStart} request(s) in flight at the start, ` +
        `${report.answered} answered during the drain, ${report.cut} cut off; every lock kept`,
    );
    return report;
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.signalled || !this.managed) return;
    this.signalled = signal;
    this.logger.log(`${signal} received: graceful shutdown (hard deadline ${SHUTDOWN_DEADLINE_MS / 1000} s)`);
    const deadline = setTimeout(() => {
      this.logger.error(`shutdown still not finished after ${SHUTDOWN_DEADLINE_MS / 1000} s: exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    // The deadline never keeps a finished process alive.
    deadline.unref();
    this.managed().then(
      () => process.exit(0),
      (error: unknown) => {
        this.logger.error(`shutdown failed: ${errorMessage(error)}`);
        process.exit(1);
      },
    );
  };

  private detach(): void {
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
  }
}
