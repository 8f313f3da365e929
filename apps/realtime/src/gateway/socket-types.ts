import type { DefaultEventsMap, Namespace, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '#contracts';

/** A connected, authenticated socket of the `/realtime` namespace. */
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>;

/** The `/realtime` namespace (the gateway's server). */
export type RealtimeNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>;

/** The namespace every client must connect to (CONTRACT §2). */
export const REALTIME_NAMESPACE = '/realtime';
