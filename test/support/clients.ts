import { SignJWT } from 'jose';
import { io, type Socket } from 'socket.io-client';
import type {
  Answer,
  ClientToServerEvents,
  ConnectedPayload,
  RequestEvent,
  RequestResults,
  ServerToClientEvents,
} from '#contracts';
import { RESPONSE_EVENTS } from '#contracts';
import { JWT_SECRET } from './app.js';

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** An HS256 token for `userId` (as `sub`), valid for an hour unless `expiresIn` says otherwise. */
export async function signToken(
  userId: string,
  options: { secret?: string; expiresIn?: string | number; claim?: 'sub' | 'userId' } = {},
): Promise<string> {
  const claims = options.claim === 'userId' ? { userId } : {};
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (options.claim !== 'userId') jwt.setSubject(userId);
  jwt.setExpirationTime(options.expiresIn ?? '1h');
  return jwt.sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

export interface ConnectOptions {
  /** Signs a token for this user (the usual way); leave out for an anonymous client. */
  userId?: string;
  /** A ready token instead. */
  token?: string;
  /** Sends the token in `Authorization: Bearer …` instead of `auth.token`. */
  viaHeader?: boolean;
  query?: Record<string, string>;
  /** More `auth` fields besides the token (e.g. `answers: 'both'`). */
  auth?: Record<string, string>;
  extraHeaders?: Record<string, string>;
}

/** Every socket a test opened, closed by {@link closeAll}. */
const opened = new Set<TestSocket>();

/** A socket that is not connected yet (listeners can be attached before `connect()`). */
export async function createSocket(url: string, options: ConnectOptions = {}): Promise<TestSocket> {
  const token = options.token ?? (options.userId !== undefined ? await signToken(options.userId) : undefined);
  const socket: TestSocket = io(url, {
    autoConnect: false,
    reconnection: false,
    forceNew: true,
    transports: ['websocket'],
    auth: { ...options.auth, ...(token !== undefined && !options.viaHeader ? { token } : {}) },
    extraHeaders: { ...(token !== undefined && options.viaHeader ? { Authorization: `Bearer ${token}` } : {}), ...options.extraHeaders },
    ...(options.query ? { query: options.query } : {}),
  });
  opened.add(socket);
  return socket;
}

/** Connects and resolves with the server's `connected` greeting. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<{ socket: TestSocket; hello: ConnectedPayload }> {
  const socket = await createSocket(url, options);
  const hello = await new Promise<ConnectedPayload>((resolve, reject) => {
    socket.once('connected', resolve);
    socket.once('connect_error', reject);
    socket.connect();
  });
  return { socket, hello };
}

/** Connects and expects a refusal; resolves with the `connect_error`. */
export async function refused(url: string, options: ConnectOptions = {}): Promise<Error & { data?: { code?: string; message?: string } }> {
  const socket = await createSocket(url, options);
  return new Promise((resolve, reject) => {
    socket.once('connect_error', (error) => resolve(error as Error & { data?: { code?: string } }));
    socket.once('connect', () => reject(new Error('the connection was accepted')));
    socket.connect();
  });
}

/** Sends a request with an acknowledgement and resolves with the answer. */
export function request<E extends RequestEvent>(socket: TestSocket, event: E, payload?: unknown): Promise<Answer<RequestResults[E]>> {
  const emit = socket.emit.bind(socket) as unknown as (event: string, ...args: unknown[]) => void;
  return new Promise((resolve) => {
    if (payload === undefined) emit(event, resolve);
    else emit(event, payload, resolve);
  });
}

/** Sends a request without an acknowledgement and resolves with its `<event>-response`. */
export function requestByResponse<E extends RequestEvent>(socket: TestSocket, event: E, payload?: unknown): Promise<Answer<RequestResults[E]>> {
  const on = socket.once.bind(socket) as unknown as (event: string, listener: (answer: Answer<RequestResults[E]>) => void) => void;
  const emit = socket.emit.bind(socket) as unknown as (event: string, ...args: unknown[]) => void;
  return new Promise((resolve) => {
    on(RESPONSE_EVENTS[event], resolve);
    if (payload === undefined) emit(event);
    else emit(event, payload);
  });
}

/** Emits anything at all (malformed payloads, several arguments, unknown events). */
export function emitRaw(socket: TestSocket, event: string, ...args: unknown[]): void {
  (socket.emit as unknown as (event: string, ...args: unknown[]) => void)(event, ...args);
}

/** Asserts success and returns the answer's fields (a failure throws with its code). */
export function ok<T>(answer: Answer<T>): T & { success: true } {
  if (!answer.success) throw new Error(`expected success, got ${answer.code}: ${answer.message}`);
  return answer;
}

/** Resolves with the next `event` on `socket` that matches `predicate`. */
export function next<T>(socket: TestSocket, event: string, predicate: (payload: T) => boolean = () => true): Promise<T> {
  const target = socket as unknown as { on(e: string, l: (p: T) => void): void; off(e: string, l: (p: T) => void): void };
  return new Promise((resolve) => {
    const listener = (payload: T) => {
      if (!predicate(payload)) return;
      target.off(event, listener);
      resolve(payload);
    };
    target.on(event, listener);
  });
}

/** Collects every `event` on `socket` from now on. */
export function collect<T>(socket: TestSocket, event: string): T[] {
  const seen: T[] = [];
  (socket as unknown as { on(e: string, l: (p: T) => void): void }).on(event, (payload) => seen.push(payload));
  return seen;
}

export function disconnected(socket: TestSocket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Closes every socket opened through these helpers. */
export function closeAll(): void {
  for (const socket of opened) socket.disconnect();
  opened.clear();
}
