import { readFileSync } from 'node:fs';
import { ServerRMQ } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { RealtimeRmqServer } from './realtime-rmq.server.js';

/**
 * {@link RealtimeRmqServer} overrides and calls parts of Nest's `ServerRMQ` that are not a public
 * API. This pins them: an upgrade of @nestjs/microservices that changes any of them fails here, by
 * name, instead of silently losing acknowledgements or dead-lettering.
 */
describe('Nest ServerRMQ internals the realtime transport relies on', () => {
  const proto = ServerRMQ.prototype as unknown as Record<string, unknown>;
  const source = (name: string) => String(proto[name]);

  it('is the version the subclass was written against (12.x)', () => {
    const path = new URL('../../../../node_modules/@nestjs/microservices/package.json', import.meta.url);
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { version: string };
    expect(manifest.version).toMatch(/^12\./);
  });

  it('has the methods the subclass overrides or calls, with their arities', () => {
    expect(typeof proto.setupChannel).toBe('function');
    expect((proto.setupChannel as (...args: unknown[]) => unknown).length).toBe(2);
    expect((proto.handleMessage as (...args: unknown[]) => unknown).length).toBe(2);
    for (const name of ['getHandlerByPattern', 'getPatternAsString', 'transformToObservable', 'getOptionsProp', 'listen', 'close', 'on']) {
      expect(typeof proto[name], name).toBe('function');
    }
  });

  it('setupChannel declares the queue, sets the prefetch and consumes into handleMessage(message, channel) with our consumer tag', () => {
    const setup = source('setupChannel');
    expect(setup).toContain('assertQueue(this.queue, this.queueOptions)');
    expect(setup).toContain('channel.prefetch(prefetchCount');
    expect(setup).toMatch(/channel\.consume\([^,]+, \(msg\) => this\.handleMessage\(msg, channel\)/);
    expect(setup).toContain("'consumerTag'");
    expect(setup).toContain('callback()');
  });

  it('start keeps the connection manager in this.server and the channel wrapper in this.channel, set up through setupChannel', () => {
    const start = source('start');
    expect(start).toContain('this.server = await this.createClient()');
    expect(start).toContain('this.channel = this.server.createChannel(');
    expect(start).toContain('setup: (channel) => this.setupChannel(channel');
    // The subclass's constructor listens for `disconnect` before the client exists: on() queues it.
    expect(start).toContain('this.pendingEventListeners.forEach(');
    expect(source('on')).toContain('this.pendingEventListeners.push(');
  });

  it('the subclass still overrides exactly these', () => {
    const own = Object.getOwnPropertyNames(RealtimeRmqServer.prototype);
    expect(own).toEqual(expect.arrayContaining(['setupChannel', 'handleMessage']));
    for (const name of ['setupChannel', 'handleMessage']) expect(name in proto, name).toBe(true);
  });
});
