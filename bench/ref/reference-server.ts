/**
 * The reference servers of the bench: plain Socket.IO + ioredis (+ amqplib), no framework.
 *
 * - `lua`: the **Lua floor**: per request one Redis Lua call (the service's own lock-store scripts from
 *   libs/lock-store/src/redis/lua.ts, so the floor does the same Redis work per request) and the answer,
 *   once, as the contract demands (CONTRACT §2): on the ack when the client passes one, otherwise as
 *   `<event>-response`. Nothing else.
 * - `contract`: the **contract floor**: the same, plus what CONTRACT §4 asks of lifecycle events and
 *   nothing more: each transition is appended to the outbox stream by the same script (the scripts'
 *   `outbox` switch, as the service's store does), published from the reply (persistent, on a confirm
 *   channel; the answer does not wait for the confirm unless more than MAX_UNCONFIRMED are
 *   outstanding), and trimmed from the stream once confirmed; whatever a crash left there is published
 *   at start. The body is `{ pattern, data: Lock }` with the `Lock` in its contract form. Plus an `availability-update` to the event room coalesced to at most one per category per
 *   `broadcastMs` (first at once, the last always sent), and the owner's `lock-released` /
 *   `lock-expired` to the user's other sockets (not the requesting one).
 * - `publish-only`: the contract floor of earlier runs, reported beside it: no outbox (an event whose
 *   publish was not confirmed when the process died is lost, which §4 does not allow) and the scripts'
 *   lock record as the body (epoch-ms instants, no `expiresInSeconds`: not the contract's `Lock`).
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
import { toLock, type LockRecord } from '../../libs/lock-domain/src/lock.js';
import { HEADER_ARGS, SCRIPTS } from '../../libs/lock-store/src/redis/lua.js';
import { keyBase, outboxKey } from '../../libs/lock-store/src/redis/redis-keys.js';
import { verifyHs256 } from '../lib/jwt.js';

export type ReferenceMode = 'lua' | 'contract' | 'publish-only';

export interface ReferenceSettings {
  mode: ReferenceMode;
  redisUrl: string;
  prefix: string;
  secret: string;
  events: Array<{ id: string | number; categories: Array<{ categoryId: string | number; totalTickets: number }> }>;
  amqpUrl?: string;
  exchange?: string;
  broadcastMs?: number;
}

const MAX_UNCONFIRMED = 1000;
const settings = JSON.parse(process.env.BENCH_REF ?? '{}') as ReferenceSettings;
const publishes = settings.mode !== 'lua';
const outbox = settings.mode === 'contract';
// The service's defaults (CONTRACT §5), in the scripts' header order; the outbox for the contract
// floor, no announcements (one process: nobody else to tell), Redis TIME.
const POLICY = ['300000', '900000', '5', '10', '3600000', outbox ? '1' : '0', '', ''];
if (POLICY.length !== HEADER_ARGS) throw new Error(`the scripts take ${HEADER_ARGS} header arguments, the reference passes ${POLICY.length}`);

interface ScriptReply {
  now: number;
  value?: Record<string, unknown>;
  error?: string;
  status?: string;
  transitions: Array<{ event: string; lock: Record<string, unknown> }>;
  availability: Array<Record<string, unknown> & { eventId: unknown; categoryId: unknown; version: number }>;
}

const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1 });
const base = keyBase(settings.prefix);
type ScriptFn = (...args: string[]) => Promise<string>;
for (const name of ['defineEvent', 'lock', 'unlock', 'availability'] as const) {
  redis.defineCommand(`ref_${name}`, { lua: SCRIPTS[name], numberOfKeys: 1 });
}
type ScriptName = 'defineEvent' | 'lock' | 'unlock' | 'availability';
/** A script call, and its place among the calls the outbox waits on (contract floor only). */
async function scriptCall(name: ScriptName, args: string[]): Promise<{ reply: ScriptReply; call: CallMark }> {
  const fn = (redis as unknown as Record<string, ScriptFn>)[`ref_${name}`] as ScriptFn;
  const call = outboxCalls.sent();
  const reply = JSON.parse(await fn.call(redis, base, ...POLICY, ...args)) as ScriptReply;
  outboxCalls.answered(call, reply);
  return { reply, call };
}
async function script(name: ScriptName, args: string[]): Promise<ScriptReply> {
  return (await scriptCall(name, args)).reply;
}

// ---- contract floor: the outbox, trimmed once the broker has what it holds ----

/**
 * The calls on the one script connection, in the order Redis runs them (one connection: send order).
 * A call's entries have stream ids of at least its `now` (XADD ids follow Redis time and only grow),
 * and a call not answered yet runs after the last answered one: so nothing older than the oldest
 * call still owed a confirm (or an answer) can be unconfirmed, and the stream is trimmed up to there.
 */
type CallMark = { now: number; owed: number; answered: boolean } | undefined;

class OutboxWatermark {
  private readonly calls: Array<NonNullable<CallMark>> = [];
  private lastNow = 0;
  private trimmedTo = 0;
  private timer: NodeJS.Timeout | undefined;

  sent(): CallMark {
    if (!outbox) return undefined;
    const call = { now: this.lastNow, owed: 0, answered: false };
    this.calls.push(call);
    return call;
  }

  answered(call: CallMark, reply: ScriptReply): void {
    if (!call) return;
    call.now = reply.now;
    call.answered = true;
    this.lastNow = Math.max(this.lastNow, reply.now);
    // Refusals record transitions too (a due lock's expiry): those are owed confirms like any.
    call.owed += reply.transitions.length;
    this.schedule();
  }

  confirmed(call: CallMark): void {
    if (!call) return;
    call.owed--;
    this.schedule();
  }

  /** At most one XTRIM per 20 ms, however many confirms arrive. */
  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      while (this.calls.length > 0 && this.calls[0]?.answered && this.calls[0].owed <= 0) this.calls.shift();
      const head = this.calls[0];
      const minId = head ? head.now : this.lastNow;
      if (minId <= this.trimmedTo) return;
      this.trimmedTo = minId;
      redis.xtrim(outboxKey(settings.prefix), 'MINID', String(minId)).catch(() => undefined);
    }, 20);
  }
}
const outboxCalls = new OutboxWatermark();

const idKey = (id: unknown): string => String(id);

// ---- contract floor: publisher confirms and coalesced broadcasts ----
let channel: ConfirmChannel | undefined;
let unconfirmed = 0;

/**
 * A transition's lock as CONTRACT §1 words a `Lock` (ISO 8601 instants, `expiresInSeconds`) as of
 * the transition, by the domain's own `toLock`; the publish-only floor sends the scripts' record as
 * it is, as earlier runs did.
 */
function wireLock(lock: Record<string, unknown>, at: number): unknown {
  return outbox ? toLock(lock as unknown as LockRecord, at) : lock;
}

/**
 * One persistent publish on the confirm channel. The messageId is the transition's own (a lock has
 * each transition at most once), so a copy published again after a crash is recognisably the same.
 */
function publish(transition: { event: string; lock: Record<string, unknown> }, at: number, onConfirmed?: () => void): Promise<void> | undefined {
  if (!channel || !settings.exchange) return undefined;
  const pattern = `ticket-lock.${transition.event}`;
  const body = Buffer.from(JSON.stringify({ pattern, data: wireLock(transition.lock, at) }));
  unconfirmed++;
  return new Promise<void>((resolve) => {
    const messageId = `${String(transition.lock.lockId)}:${transition.event}`;
    channel?.publish(settings.exchange ?? '', pattern, body, { persistent: true, messageId, contentType: 'application/json' }, (error: unknown) => {
      unconfirmed--;
      // A nack stays in the outbox (nothing trims past it) until the next start publishes it again.
      if (!error) onConfirmed?.();
      resolve();
    });
  });
}

/** What a crash left in the outbox: published again (in stream order), then trimmed. */
async function recoverOutbox(): Promise<void> {
  const key = outboxKey(settings.prefix);
  for (;;) {
    const rows = await redis.xrange(key, '-', '+', 'COUNT', 500);
    const last = rows[rows.length - 1];
    if (!last) return;
    for (const [id, fields] of rows) {
      const event = fields[fields.indexOf('event') + 1] ?? '';
      const lock = JSON.parse(fields[fields.indexOf('lock') + 1] ?? '{}') as Record<string, unknown>;
      // As of its transition: the entry id starts with the Redis time of it.
      await publish({ event, lock }, Number(id.split('-')[0]));
    }
    const [ms = '0', seq = '0'] = last[0].split('-');
    await redis.xtrim(key, 'MINID', `${ms}-${Number(seq) + 1}`);
  }
}

const interval = settings.broadcastMs ?? 100;
const slots = new Map<string, { sentAt: number; sentVersion: number; pending?: Record<string, unknown> & { version: number }; timer?: NodeJS.Timeout }>();
let io: Server;

function offer(update: Record<string, unknown> & { eventId: unknown; categoryId: unknown; version: number }): void {
  const key = `${idKey(update.eventId)}\n${idKey(update.categoryId)}`;
  const now = performance.now();
  const slot = slots.get(key);
  // After the current turn, as the service does: the requester's answer is not queued behind the room.
  const send = (u: Record<string, unknown>): void => {
    setImmediate(() => io.of('/realtime').to(`event:${idKey(update.eventId)}`).emit('availability-update', u));
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

const NOTIFICATIONS: Record<string, string> = { released: 'lock-released', expired: 'lock-expired', confirmed: 'lock-confirmed' };

/** What every store change costs in the contract floor: publishes, owner notifications and the coalesced broadcast. */
async function afterChange(reply: ScriptReply, origin: string, call: CallMark): Promise<void> {
  if (!publishes) return;
  const timestamp = new Date(reply.now).toISOString();
  for (const availability of reply.availability) offer({ ...availability, timestamp });
  for (const { event, lock } of reply.transitions) {
    const name = NOTIFICATIONS[event];
    if (!name) continue;
    const { lockId, eventId, categoryId, quantity, status, reason } = lock;
    io.of('/realtime').to(`user:${String(lock.userId)}`).except(origin).emit(name, { lockId, eventId, categoryId, quantity, status, reason });
  }
  const confirms = reply.transitions
    .map((transition) => publish(transition, reply.now, () => outboxCalls.confirmed(call)))
    .filter((p): p is Promise<void> => p !== undefined);
  // Backpressure only: a broker that lags makes answers wait instead of memory grow.
  if (unconfirmed > MAX_UNCONFIRMED) await Promise.all(confirms);
}

// ---- the socket side ----
type Ack = ((answer: unknown) => void) | undefined;

/** Answered once: the ack when the client passed one, otherwise `<event>-response`. */
function answer(socket: Socket, event: string, ack: Ack, payload: unknown): void {
  if (ack) ack(payload);
  else socket.emit(`${event}-response`, payload);
}

function failure(reply: ScriptReply): Record<string, unknown> {
  return { success: false, code: reply.error, message: reply.error };
}

function toLockAnswer(lock: Record<string, unknown>, now: number, availableTickets: unknown): Record<string, unknown> {
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
    availableTickets,
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
    // Per category: ck, cidt, total, hasName, name, sold ('' = none), seats ('' = general admission) — the define-event script's order.
    for (const c of event.categories) args.push(idKey(c.categoryId), typeof c.categoryId === 'number' ? 'n' : 's', String(c.totalTickets), '0', '', '', '');
    const defined = await script('defineEvent', args);
    // A script whose arguments changed must stop the bench here, not as EVENT_NOT_FOUND later.
    if (defined.error) throw new Error(`defineEvent refused: ${defined.error}`);
  }
  if (publishes) {
    if (!settings.amqpUrl || !settings.exchange) throw new Error(`${settings.mode} mode needs amqpUrl and exchange`);
    const connection = await amqpConnect(settings.amqpUrl);
    channel = await connection.createConfirmChannel();
    await channel.assertExchange(settings.exchange, 'topic', { durable: true });
    if (outbox) await recoverOutbox();
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
    socket.emit('connected', { success: true, sessionId: socket.id, userId, serverTime: new Date().toISOString(), message: 'connected' });

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
      const { reply, call } = await scriptCall('lock', [
        randomUUID(),
        idKey(eventId),
        idKey(categoryId),
        String(quantity),
        userId,
        socket.id,
        typeof requestId === 'string' ? requestId : '',
      ]);
      await afterChange(reply, socket.id, call);
      if (reply.error) return failure(reply);
      const lock = (reply.value as { lock: Record<string, unknown> }).lock;
      // The category's count right after this lock, from the same script call (a replay has none: 0 here).
      return toLockAnswer(lock, reply.now, reply.availability.find((a) => a.categoryId === lock.categoryId)?.availableTickets ?? 0);
    });
    handler(socket, 'unlock-tickets', async (data) => {
      const selector = typeof data.lockId === 'string' ? ['id', data.lockId, ''] : ['cat', idKey(data.eventId), idKey(data.categoryId)];
      const quantity = typeof data.quantity === 'number' ? String(data.quantity) : '';
      const { reply, call } = await scriptCall('unlock', [userId, ...selector, quantity]);
      await afterChange(reply, socket.id, call);
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
