import { Injectable } from '@nestjs/common';
import type { RealtimeNamespace } from './socket-types.js';

/**
 * Holds the `/realtime` namespace once the gateway is initialised, for the services that push to
 * clients (broadcasts, notifications, disconnect checks) without depending on the gateway itself.
 */
@Injectable()
export class RealtimeNamespaceRef {
  private namespace: RealtimeNamespace | undefined;

  attach(namespace: RealtimeNamespace): void {
    this.namespace = namespace;
  }

  /** The namespace, or `undefined` before the gateway is initialised. */
  get(): RealtimeNamespace | undefined {
    return this.namespace;
  }
}
