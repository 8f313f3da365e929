import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { WsMessageHandler } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { from, isObservable, mergeAll, of, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { RealtimeIoAdapter } from './realtime-io.adapter.js';

/**
 * Pins the Nest internals RealtimeIoAdapter relies on: it overrides the protected
 * `IoAdapter.bindMessageHandlers` (plain listeners instead of an RxJS pipeline per handler and
 * socket), so it depends on how Nest calls it and on what Nest's own version does. If an upgrade of
 * @nestjs/websockets or @nestjs/platform-socket.io changes either, these fail and say which.
 */

const require = createRequire(import.meta.url);

/** The adapter options these tests need; socket buffer bound as the config default. */
const ADAPTER_CONFIG = { corsOrigins: '*' as const, maxPayloadBytes: 1000, maxSocketBufferBytes: 1024 * 1024, redisUrl: undefined, redisKeyPrefix: 'tl' };

type Bind = (socket: unknown, handlers: WsMessageHandler[], transform: (data: unknown) => Observable<unknown>) => void;

/** A prototype's method, to be called with another `this` (each adapter's own version, on its own instance). */
function methodOf(prototype: object, name: string): Bind {
  const method: unknown = Object.getOwnPropertyDescriptor(prototype, name)?.value;
  if (typeof method !== 'function') throw new Error(`${name} is no longer a method of ${prototype.constructor.name}`);
  return method as Bind;
}

/** What Nest's WebSocketsController passes as `transform` (web-sockets-controller.js, subscribeMessages). */
const nestTransform = (data: unknown): Observable<unknown> =>
  from(
    (async () => {
      const result: unknown = await data;
      if (isObservable(result)) return result;
      return of(result);
    })(),
  ).pipe(mergeAll());

/** A socket as far as the adapters use one: events in, emits out. */
class FakeSocket extends EventEmitter {
  readonly emitted: unknown[][] = [];
  send(event: string, ...args: unknown[]): void {
    super.emit(event, ...args);
  }
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (typeof event === 'string' && event !== 'disconnect' && !event.startsWith('in:')) {
      this.emitted.push([event, ...args]);
      return true;
    }
    return super.emit(event, ...args);
  }
}

interface Seen {
  calls: unknown[][];
  acks: unknown[];
  emitted: unknown[][];
}

/** Runs one scenario through an adapter's bindMessageHandlers and records what the handlers and the client saw. */
async function run(bind: Bind, self: unknown, send: (socket: FakeSocket, ack: (response: unknown) => void) => void): Promise<Seen> {
  const socket = new FakeSocket();
  const seen: Seen = { calls: [], acks: [], emitted: socket.emitted };
  const handler = (name: string, answer: (data: unknown) => unknown, isAckHandledManually = false): WsMessageHandler => ({
    message: `in:${name}`,
    isAckHandledManually,
    // Real handlers answer plain values too; the declared type only knows promises and Observables.
    callback: ((...args: unknown[]) => {
      seen.calls.push([name, args[0], typeof args[1]]);
      return answer(args[0]);
    }) as WsMessageHandler['callback'],
  });
  const handlers = [
    handler('value', (data) => ({ echoed: data })),
    handler('promise', async (data) => ({ later: data })),
    handler('event', () => ({ event: 'pushed', data: { n: 1 } })),
    handler('nothing', () => undefined),
    handler('manual', () => ({ ignored: true }), true),
    handler('observable', () => of({ streamed: true })),
  ];
  bind.call(self, socket, handlers, nestTransform);
  send(socket, (response) => seen.acks.push(response));
  await new Promise((resolve) => setTimeout(resolve, 20));
  return seen;
}

const scenarios: Array<[string, (socket: FakeSocket, ack: (response: unknown) => void) => void]> = [
  ['one payload and an ack → the value through the ack', (s, ack) => s.send('in:value', { a: 1 }, ack)],
  ['a promise → its value through the ack', (s, ack) => s.send('in:promise', { b: 2 }, ack)],
  ['{ event, data } → an emit, not the ack', (s, ack) => s.send('in:event', { c: 3 }, ack)],
  ['undefined → nothing', (s, ack) => s.send('in:nothing', { d: 4 }, ack)],
  ['@Ack() handled manually → the ack is not called for it', (s, ack) => s.send('in:manual', { e: 5 }, ack)],
  ['an Observable → its values through the ack', (s, ack) => s.send('in:observable', {}, ack)],
  ['a payload without an ack', (s) => s.send('in:value', { f: 6 })],
  ['no payload, only an ack', (s, ack) => s.send('in:value', ack)],
];

describe('RealtimeIoAdapter pins the Nest internals it overrides', () => {
  it('IoAdapter still has bindMessageHandlers(socket, handlers, transform) and a logger', () => {
    expect(methodOf(IoAdapter.prototype, 'bindMessageHandlers').length).toBe(3);
    const adapter = new RealtimeIoAdapter({}, ADAPTER_CONFIG);
    expect(typeof (adapter as unknown as { logger?: { error?: unknown } }).logger?.error).toBe('function');
  });

  it('Nest calls it with handlers of { message, callback bound to the client, isAckHandledManually } and the pickResult transform', () => {
    const source = readFileSync(require.resolve('@nestjs/websockets/web-sockets-controller.js'), 'utf8');
    expect(source).toMatch(
      /subscribersMap\.map\(\(\{ callback, message, isAckHandledManually \}\) => \(\{\s*message,\s*callback: callback\.bind\(instance, client\),\s*isAckHandledManually,\s*\}\)\);\s*adapter\.bindMessageHandlers\(client, handlers, data => fromPromise\(this\.pickResult\(data\)\)\.pipe\(mergeAll\(\)\)\);/,
    );
  });

  it.each(scenarios)('behaves as Nest\'s own bindMessageHandlers: %s', async (_, send) => {
    const ours = await run(methodOf(RealtimeIoAdapter.prototype, 'bindMessageHandlers'), new RealtimeIoAdapter({}, ADAPTER_CONFIG), send);
    const nest = await run(methodOf(IoAdapter.prototype, 'bindMessageHandlers'), new IoAdapter(), send);
    expect(ours).toEqual(nest);
    // The scenario did reach a handler (so equality is not two empty records), except where nothing is the point.
    expect(nest.calls.length).toBe(1);
  });
});
