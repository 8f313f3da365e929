/**
 * The two reference servers of the bench: plain Socket.IO + ioredis (+ amqplib), no framework.
 *
 * - `lua`: the **Lua floor**: per request one Redis Lua call (the service's own lock-store scripts from
 *   libs/lock-store/src/redis/lua.ts, so the floor does the same Redis work per request) and the answer,
 *   on the ack and as `<event>-response` as the contract demands. Nothing else.
 * - `contract`: the **contract floor**: the same, plus one persistent RabbitMQ publish per lifecycle
 *   transition on a confirm channel (publisher confirms; the answer does not wait for the confirm
 *   unless more than MAX_UNCONFIRMED are outstanding) and an `availability-update` to the event room
 *   coalesced to at most one per category per `broadcastMs` (first at once, the last always sent).
 *
 * Started by the bench runner as a child process (`node --import tsx …`) with its settings in the
 * `BENCH_REF` env variable (JSON); it says `{ ready, port }` over IPC when it serves.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as amqpConnect, type ConfirmChannel } from 'amqplib';
import { Redis } from 'ioredis';
import { Server, type Socket } from 'socket.io';
import { HEADER_ARGS, SCRIPTS } from '../../libs/lock-store/src/redis/lua.js';
import { keyBase } from '../../libs/lock-store/src/redis/redis-keys.js';
import { verifyHs256 } from '../lib/jwt.js';

export interface ReferenceSettings {
  mode: 'lua' | 'contract';
  redisUrl: string;
  prefix: string;
  secret: string;
  events: Array<{ id: string | number; categories: Array<{ categoryId: string | number; totalTickets: number }> }>;
  amqpUrl?: string;
  exchange?: string;
  broadcastMs?: number;
}

const MAX_UNCONFIRMED = 1000;
// The service's defaults (CONTRACT §5), in the scripts' header order; no outbox, no announcements
// (one process: nobody else to tell), Redis TIME.
const POLICY = ['300000', '900000', '5', '10', '3600000', '0', '', ''];
if (POLICY.length !== HEADER_ARGS) throw new Error(`the scripts take ${HEADER_ARGS} header arguments, the reference passes ${POLICY.length}`);

interface ScriptReply {
  now: number;
  value?: Record<string, unknown>;
  error?: string;
  status?: string;
  transitions: Array<{ event: string; lock: Record<string, unknown> }>;
  availability: Array<Record<string, unknown> & { eventId: unknown; categoryId: unknown; version: number }>;
}

const settings = JSON.parse(process.env.BENCH_REF ?? '{}') as ReferenceSettings;
const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1 });
const base = keyBase(settings.prefix);
type ScriptFn = (...args: string[]) => Promise<string>;
for (const name of ['defineEvent', 'lock', 'unlock', 'availability'] as const) {
  redis.defineCommand(`ref_${name}`, { lua: SCRIPTS[name], numberOfKeys: 1 });
}
async function script(name: 'defineEvent' | 'lock' | 'unlock' | 'availability', args: string[]): Promise<ScriptReply> {
  const fn = (redis as unknown as Record<string, ScriptFn>)[`ref_${name}`] as ScriptFn;
  return JSON.parse(await fn.call(redis, base, ...POLICY, ...args)) as ScriptReply;
}

const idKey = (id: unknown): string => String(id);

// ---- contract floor: publisher confirms and coalesced broadcasts ----
let channel: ConfirmChannel | undefined;
let unconfirmed = 0;

function publish(transition: { event: string; lock: Record<string, unknown> }): Promise<void> | undefined {
  if (!channel || !settings.exchange) return undefined;
  const pattern = `ticket-lock.${transition.event}`;
  const body = Buffer.from(JSON.stringify({ pattern, data: transition.lock }));
  unconfirmed++;
  return new Promise<void>((resolve) => {
    channel?.publish(settings.exchange ?? '', pattern, body, { persistent: true, messageId: randomUUID(), contentType: 'application/json' }, () => {
      unconfirmed--;
      resolve();
    });
  });
}

const interval = settings.broadcastMs ?? 100;
const slots = new Map<string, { sentAt: number; sentVersion: number; pending?: Record<string, unknown> & { version: number }; timer?: NodeJS.Timeout }>();
let io: Server;

function offer(update: Record<string, unknown> & { eventId: unknown; categoryId: unknown; version: number }): void {
  const key = `${idKey(update.eventId)}\n${idKey(update.categoryId)}`;
  const now = performance.now();
  const slot = slots.get(key);
  const send = (u: Record<string, unknown>): void => {
    io.of('/realtime').to(`event:${idKey(update.eventId)}`).emit('availability-update', u);
  };
  if (!slot) {
    slots.set(key, { sentAt: now, sentVersion: update.version });
    send(update);
    return;
  }
  if (update.version <= Math.max(slot.sentVersion, slot.pending?.version ?? -Infinity)) return;
  if (!slot.timer && now - slot.sentAt >= interval) {
    slot.sentAt = now;
    slot.sentVersion = update.version;
    send(update);
    return;
  }
  slot.pending = update;
  slot.timer ??= setTimeout(() => {
    slot.timer = undefined;
    const pending = slot.pending;
    slot.pending = undefined;
    if (!pending) return;
    slot.sentAt = performance.now();
    slot.sentVersion = pending.version;
    send(pending);
  }, Math.max(0, slot.sentAt + interval - now));
}

/** What every store change costs in the contract floor: publishes and the coalesced broadcast. */
async function afterChange(reply: ScriptReply): Promise<void> {
  if (settings.mode !== 'contract') return;
  const timestamp = new Date(reply.now).toISOString();
  for (const availability of reply.availability) offer({ ...availability, timestamp });
  const confirms = reply.transitions.map(publish).filter((p): p is Promise<void> => p !== undefined);
  // Backpressure only: a broker that lags makes answers wait instead of memory grow.
  if (unconfirmed > MAX_UNCONFIRMED) await Promise.all(confirms);
}

// ---- the socket side ----
type Ack = ((answer: unknown) => void) | undefined;

function answer(socket: Socket, event: string, ack: Ack, payload: unknown): void {
  if (ack) ack(payload);
  socket.emit(`${event}-response`, payload);
}

function failure(reply: ScriptReply): Record<string, unknown> {
  return { success: false, code: reply.error, message: reply.error };
}

function toLockAnswer(lock: Record<string, unknown>, now: number): Record<string, unknown> {
  const expiresAt = Number(lock.expiresAt);
  return {
    success: true,
    lockId: lock.lockId,
    eventId: lock.eventId,
    categoryId: lock.categoryId,
    quantity: lock.quantity,
    status: 'ACTIVE',
    expiresAt: new Date(expiresAt).toISOString(),
    expiresInSeconds: Math.max(0, Math.ceil((expiresAt - now) / 1000)),
  };
}

function handler(socket: Socket, event: string, run: (data: Record<string, unknown>) => Promise<unknown>): void {
  socket.on(event, (data: unknown, ack?: unknown) => {
    const callback = typeof ack === 'function' ? (ack as (answer: unknown) => void) : undefined;
    const payload = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
    run(payload).then(
      (result) => answer(socket, event, callback, result),
      () => answer(socket, event, callback, { success: false, code: 'INTERNAL_ERROR', message: 'internal error' }),
    );
  });
}

async function main(): Promise<void> {
  for (const event of settings.events) {
    const args = [idKey(event.id), typeof event.id === 'number' ? 'n' : 's', '0', '', '1', String(event.categories.length)];
    for (const c of event.categories) args.push(idKey(c.categoryId), typeof c.categoryId === 'number' ? 'n' : 's', String(c.totalTickets), '0', '');
    await script('defineEvent', args);
  }
  if (settings.mode === 'contract') {
    if (!settings.amqpUrl || !settings.exchange) throw new Error('contract mode needs amqpUrl and exchange');
    const connection = await amqpConnect(settings.amqpUrl);
    channel = await connection.createConfirmChannel();
    await channel.assertExchange(settings.exchange, 'topic', { durable: true });
  }

  // Socket.IO answers its own path; anything else is not served.
  const http = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  io = new Server(http, { serveClient: false, maxHttpBufferSize: 16384, connectTimeout: 10_000, cors: { origin: '*' } });
  const nsp = io.of('/realtime');
  nsp.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    const claims = typeof token === 'string' ? verifyHs256(token, settings.secret) : undefined;
    const userId = claims && (typeof claims.sub === 'string' ? claims.sub : undefined);
    if (!userId) {
      next(Object.assign(new Error('unauthorized'), { data: { code: 'UNAUTHORIZED' } }));
      return;
    }
    socket.data = { userId };
    next();
  });
  nsp.on('connection', (socket) => {
    const userId = (socket.data as { userId: string }).userId;
    void socket.join(`user:${userId}`);
    socket.emit('connected', { sessionId: socket.id, userId, serverTime: new Date().toISOString() });

    handler(socket, 'join-event-room', async ({ eventId }) => {
      const room = `event:${idKey(eventId)}`;
      await socket.join(room);
      const reply = await script('availability', [idKey(eventId), '0']);
      if (reply.error) return failure(reply);
      const timestamp = new Date(reply.now).toISOString();
      const availability = (reply.value as unknown as Array<Record<string, unknown>>).map((a) => ({ ...a, timestamp }));
      return { success: true, eventId, room, availability };
    });
    handler(socket, 'leave-event-room', async ({ eventId }) => {
      await socket.leave(`event:${idKey(eventId)}`);
      return { success: true, eventId };
    });
    handler(socket, 'lock-tickets', async ({ eventId, categoryId, quantity, requestId }) => {
      const reply = await script('lock', [
        randomUUID(),
        idKey(eventId),
        idKey(categoryId),
        String(quantity),
        userId,
        socket.id,
        typeof requestId === 'string' ? requestId : '',
      ]);
      await afterChange(reply);
      if (reply.error) return failure(reply);
      const lock = (reply.value as { lock: Record<string, unknown> }).lock;
      return toLockAnswer(lock, reply.now);
    });
    handler(socket, 'unlock-tickets', async (data) => {
      const selector = typeof data.lockId === 'string' ? ['id', data.lockId, ''] : ['cat', idKey(data.eventId), idKey(data.categoryId)];
      const quantity = typeof data.quantity === 'number' ? String(data.quantity) : '';
      const reply = await script('unlock', [userId, ...selector, quantity]);
      await afterChange(reply);
      if (reply.error) return failure(reply);
      const value = reply.value as { lock: { lockId: string; status: string }; releasedQuantity: number; remainingQuantity: number };
      return {
        success: true,
        lockId: value.lock.lockId,
        releasedQuantity: value.releasedQuantity,
        remainingQuantity: value.remainingQuantity,
        status: value.lock.status,
      };
    });
    handler(socket, 'heartbeat', async () => ({ success: true, timestamp: new Date().toISOString() }));
  });

  http.listen(0, '127.0.0.1', () => {
    const { port } = http.address() as AddressInfo;
    process.send?.({ ready: true, port });
  });
}

main().catch((error: unknown) => {
  console.error(`reference server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
