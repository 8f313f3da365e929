import type { HttpAdapterHost } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { GracefulShutdown } from './graceful-shutdown.service.js';
import { SHUTDOWN_PHASES, ShutdownSteps, type ShutdownPhase } from './shutdown-steps.js';

const noHttp = { httpAdapter: undefined } as unknown as HttpAdapterHost;

describe('shutdown as declared steps', () => {
  it('runs the phases in order whatever order the steps were declared in; a phase waits for all its steps', async () => {
    const steps = new ShutdownSteps();
    const log: string[] = [];
    const step = (name: string, phase: ShutdownPhase, ms = 0) =>
      steps.register({
        name,
        phase,
        run: async () => {
          log.push(`start ${name}`);
          await new Promise((resolve) => setTimeout(resolve, ms));
          log.push(`end ${name}`);
        },
      });
    step('close', 'close-transports');
    step('flush', 'flush');
    step('slow consumer', 'stop-consumers', 30);
    step('fast consumer', 'stop-consumers', 0);
    step('refuse', 'refuse-new');
    step('sockets', 'finish-in-flight');
    expect(steps.byPhase().map(([phase]) => phase)).toEqual(SHUTDOWN_PHASES);

    await new GracefulShutdown(steps, noHttp).drain();
    expect(log).toEqual([
      'start refuse',
      'end refuse',
      'start slow consumer',
      'start fast consumer',
      'end fast consumer',
      'end slow consumer',
      'start sockets',
      'end sockets',
      'start flush',
      'end flush',
      'start close',
      'end close',
    ]);
  });

  it('a failing step is logged and holds up nothing; the figures of the steps add up; the drain runs once', async () => {
    const steps = new ShutdownSteps();
    let closed = 0;
    steps.register({ name: 'broken', phase: 'refuse-new', run: () => Promise.reject(new Error('boom')) });
    steps.register({ name: 'sockets a', phase: 'finish-in-flight', run: () => ({ sockets: 2, inflightAtStart: 3, answered: 3, cut: 0 }) });
    steps.register({ name: 'sockets b', phase: 'finish-in-flight', run: async () => ({ sockets: 1, cut: 1 }) });
    steps.register({ name: 'close', phase: 'close-transports', run: () => void (closed += 1) });
    const owner = new GracefulShutdown(steps, noHttp);
    const [first, second] = await Promise.all([owner.drain(), owner.drain()]);
    expect(first).toMatchObject({ sockets: 3, inflightAtStart: 3, answered: 3, cut: 1 });
    expect(second).toBe(first);
    expect(closed).toBe(1);
  });
});
