import { Injectable } from '@nestjs/common';
import type { RealtimeNamespace } from './socket-types.js';

/**
 * Holds the `/realtime` namespace once the gateway is initialised, for the services that push to
 * clients (broadcasts, notifications, disconnect checks) without depending on the gateway itself.
 */
@Injectable()
export class RealtimeNamespaceRef {
  private namespace: RealtimeNamespace | undefined;
  private readonly waiting: Array<(namespace: RealtimeNamespace) => void> = [];

  attach(namespace: RealtimeNamespace): void {
    this.namespace = namespace;
    for (const callback of this.waiting.splice(0)) callback(namespace);
  }

  /** The namespace, or `undefined` before the gateway is initialised. */
  get(): RealtimeNamespace | undefined {
    return this.namespace;
  }

  /** Runs `callback` with the namespace as soon as it exists (at once if it does). */
  whenAttached(callback: (namespace: RealtimeNamespace) => void): void {
    if (this.namespace) callback(this.namespace);
    else this.waiting.push(callback);
  }
}
