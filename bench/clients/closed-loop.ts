/**
 * Closed-loop load (bench child process): `clients` authenticated sockets, each joined to the event
 * room, each repeating lock-tickets (ack) → unlock-tickets (ack). Only successful pairs count; every
 * refusal or unanswered request is reported as an error. Settings in BENCH_CLIENT (JSON).
 * IPC: says { ready } once every socket is connected and joined, starts on { go }, answers
 * { result } at the end, exits on { close } (or when the runner goes away).
 */
import { runChild } from '../lib/child.js';
import { signHs256 } from '../lib/jwt.js';
import { LiteSocket, connectMany } from '../lib/lite-client.js';
import { percentile, sortedCopy, wallNow } from '../lib/stats.js';

interface Settings {
  urls: string[];
  secret: string;
  userPrefix: string;
  clients: number;
  eventId: string | number;
  categoryId: string | number;
  warmupMs: number;
  /** Either a duration or a fixed number of pairs per client. */
  durationMs?: number;
  pairsPerClient?: number;
}

export interface ClosedLoopResult {
  /** Pairs completed inside the measured window (both requests answered with success). */
  pairs: number;
  /** Every successful pair, warm-up included. */
  totalPairs: number;
  seconds: number;
  pairsPerSecond: number;
  p50: number;
  p99: number;
  lockP50: number;
  lockP99: number;
  unlockP50: number;
  unlockP99: number;
  /** Requests refused or never answered (`UNANSWERED`), warm-up included. */
  errors: number;
  errorCodes: Record<string, number>;
  updates: number;
  notifications: number;
}

const settings = JSON.parse(process.env.BENCH_CLIENT ?? '{}') as Settings;
let updates = 0;
let notifications = 0;

async function main(): Promise<void> {
  const sockets = await connectMany(settings.clients, (i) => ({
    url: settings.urls[i % settings.urls.length] ?? '',
    token: signHs256({ sub: `${settings.userPrefix}-${i}` }, settings.secret),
    filter: (raw) => {
      if (raw.includes('"availability-update"')) updates++;
      else if (raw.includes('"lock-released"')) notifications++;
      return false;
    },
  }), 25);
  for (const socket of sockets) {
    const joined = await socket.request<{ success: boolean; code?: string }>('join-event-room', { eventId: settings.eventId });
    if (!joined.success) throw new Error(`join-event-room failed: ${joined.code}`);
  }
  process.send?.({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));

  const lockLat: number[] = [];
  const unlockLat: number[] = [];
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let pairs = 0;
  let totalPairs = 0;
  const start = wallNow();
  const measureFrom = start + settings.warmupMs;
  const endAt = settings.durationMs === undefined ? Infinity : measureFrom + settings.durationMs;
  let measuredEnd = measureFrom;
  const fail = (code: string | undefined): void => {
    errors++;
    const key = code ?? 'UNKNOWN';
    errorCodes[key] = (errorCodes[key] ?? 0) + 1;
  };
  const loop = async (socket: LiteSocket): Promise<void> => {
    let done = 0;
    for (;;) {
      const t0 = wallNow();
      if (t0 >= endAt || socket.closed) return;
      if (settings.pairsPerClient !== undefined && done >= settings.pairsPerClient) return;
      const lock = await socket.request<{ success: boolean; lockId?: string; code?: string }>('lock-tickets', {
        eventId: settings.eventId,
        categoryId: settings.categoryId,
        quantity: 1,
      });
      const t1 = wallNow();
      // Only a granted lock and its successful unlock count as a pair; a refusal or a request never
      // answered is an error (and the runner fails the run), never throughput.
      done++;
      if (!lock.success) {
        fail(lock.code);
        continue;
      }
      const unlock = await socket.request<{ success: boolean; code?: string }>('unlock-tickets', { lockId: lock.lockId });
      const t2 = wallNow();
      if (!unlock.success) {
        fail(unlock.code);
        continue;
      }
      totalPairs++;
      if (t0 >= measureFrom && t2 <= endAt) {
        lockLat.push(t1 - t0);
        unlockLat.push(t2 - t1);
        pairs++;
        if (t2 > measuredEnd) measuredEnd = t2;
      }
    }
  };
  await Promise.all(sockets.map(loop));
  const seconds = settings.durationMs === undefined ? (measuredEnd - measureFrom) / 1000 : settings.durationMs / 1000;
  const all = sortedCopy([...lockLat, ...unlockLat]);
  const locks = sortedCopy(lockLat);
  const unlocks = sortedCopy(unlockLat);
  const result: ClosedLoopResult = {
    pairs,
    totalPairs,
    seconds,
    pairsPerSecond: pairs / seconds,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    lockP50: percentile(locks, 50),
    lockP99: percentile(locks, 99),
    unlockP50: percentile(unlocks, 50),
    unlockP99: percentile(unlocks, 99),
    errors,
    errorCodes,
    updates,
    notifications,
  };
  process.send?.({ result });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  for (const socket of sockets) socket.close();
  setTimeout(() => process.exit(0), 200).unref();
}

runChild(main);
