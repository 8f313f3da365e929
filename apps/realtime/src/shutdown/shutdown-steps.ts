import { Global, Injectable, Module } from '@nestjs/common';

/**
 * The phases of a graceful shutdown, in the order they run. Every step of a phase starts together,
 * and the next phase starts once they have all finished; a step that fails is logged and does not
 * hold up the others.
 */
export const SHUTDOWN_PHASES = [
  /** No new work: listeners closed, handshakes refused, nothing started because of the disconnections to come. */
  'refuse-new',
  /** Consumers cancelled; what they took is finished or left for redelivery. */
  'stop-consumers',
  /** Requests in flight answered, then their connections let go. */
  'finish-in-flight',
  /** What is queued goes out (coalesced broadcasts, outbox batches). */
  'flush',
  /** Transports the service owns are closed. */
  'close-transports',
] as const;

export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

/**
 * How long a socket's requests may take to finish before its transport is closed anyway. A request is
 * bounded well below it: Redis fails a command within 2 s (commandTimeout), the Events service within
 * EVENTS_TIMEOUT_MS (3 s by default).
 */
export const REQUEST_DRAIN_MS = 5_000;

/** Figures a step reports for the shutdown's summary line. */
export interface DrainFigures {
  /** Sockets of this instance whose transport was closed (their clients reconnect, elsewhere). */
  sockets?: number;
  /** Requests in flight when the drain began. */
  inflightAtStart?: number;
  /** Requests answered during the drain (those in flight at the start and any that arrived meanwhile). */
  answered?: number;
  /** Requests still unanswered when {@link REQUEST_DRAIN_MS} ran out (their sockets were closed anyway). */
  cut?: number;
}

export interface ShutdownStep {
  /** For the log: what the step does, e.g. `rabbitmq: stop consuming`. */
  name: string;
  phase: ShutdownPhase;
  run(): Promise<DrainFigures | void> | DrainFigures | void;
}

/**
 * Where each module declares its part of the shutdown (register during `onModuleInit`); the one
 * owner, GracefulShutdown, runs them by phase. Nothing depends on the order Nest tears modules down.
 */
@Injectable()
export class ShutdownSteps {
  private readonly steps: ShutdownStep[] = [];

  register(step: ShutdownStep): void {
    this.steps.push(step);
  }

  /** The declared steps of each phase, in phase order (phases without steps left out). */
  byPhase(): Array<[ShutdownPhase, ShutdownStep[]]> {
    return SHUTDOWN_PHASES.map((phase) => [phase, this.steps.filter((step) => step.phase === phase)] as [ShutdownPhase, ShutdownStep[]]).filter(
      ([, steps]) => steps.length > 0,
    );
  }
}

/** Global, so any module can declare its steps without importing the shutdown's owner. */
@Global()
@Module({ providers: [ShutdownSteps], exports: [ShutdownSteps] })
export class ShutdownStepsModule {}
