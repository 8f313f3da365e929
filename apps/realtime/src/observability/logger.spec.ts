import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { PinoNestLogger, createRootLogger } from './logger.js';

function capture(level: 'info' | 'debug' = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const root = createRootLogger({ logLevel: level }, 'test-instance', { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, logger: new PinoNestLogger(root) };
}

describe('PinoNestLogger', () => {
  afterEach(() => Logger.overrideLogger(false));

  it('writes one JSON line per message with the Nest context, service and instance', () => {
    const { lines, logger } = capture();
    logger.log('listening on :8880', 'Bootstrap');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: 'listening on :8880', context: 'Bootstrap', service: 'realtime-service', instanceId: 'test-instance' }),
    ]);
    expect(typeof lines[0]?.time).toBe('string');
  });

  it('keeps structured request fields as fields and never writes a token', () => {
    const { lines, logger } = capture();
    logger.debug({ msg: 'request', event: 'lock-tickets', userId: 'u1', lockId: 'l1', outcome: 'ok', token: 'secret-jwt' }, 'RealtimeGateway');
    expect(lines[0]).toMatchObject({ level: 20, msg: 'request', event: 'lock-tickets', userId: 'u1', lockId: 'l1', outcome: 'ok', context: 'RealtimeGateway' });
    expect(JSON.stringify(lines)).not.toContain('secret-jwt');
  });

  it('filters by LOG_LEVEL', () => {
    const { lines, logger } = capture('info');
    logger.debug('hidden', 'X');
    logger.verbose('hidden too', 'X');
    logger.warn('shown', 'X');
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
  });

  it('keeps error stacks in the log line', () => {
    const { lines, logger } = capture();
    logger.error('sweep failed', 'Error: boom\n    at x', 'SweepService');
    expect(lines[0]).toMatchObject({ level: 50, msg: 'sweep failed', context: 'SweepService', stack: 'Error: boom\n    at x' });
  });
});
