/**
 * Waiting room figures (issue 16), one run:
 *
 *   npm run bench:waiting-room               # all three
 *   npm run bench:waiting-room -- joins lock  # some: joins | lock | fanout
 *
 * - joins:  joins/s into a queue growing to 100,000 (store level: RedisWaitingRoom, 64 calls in flight), Redis bytes per
 *           queued user (MEMORY USAGE of the room's sorted sets), and moving 100,000 early joiners to their drawn places.
 * - lock:   RedisLockStore.lock throughput on an event with the waiting room on (every user admitted) vs off, 32 in
 *           flight, alternating 2 s rounds; the ratio of the medians (target ≥ 0.9).
 * - fanout: the built service (dist/, `npm run build` first) with 10,000 waiting sockets in one room: `queue-update`
 *           latency from the tick (its `timestamp`) to each socket, p50/p99 over 5 updates (target p99 ≤ 250 ms).
 *
 * Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/14), unique key prefixes, deleted afterwards.
 * Results: JSON on stdout and bench/results/waiting-room-latest.json (`npm run bench` reads it for scenario 7).
 * Run with `node --conditions=source --import tsx` (the npm script does) so the libraries load from source.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RedisLockStore, RedisWaitingRoom } from '#lock-store';
import { signHs256 } from './lib/jwt.js';
import { connectMany, forEachLimit, type LiteSocket } from './lib/lite-client.js';
import { freePort, spawnNode, stopChild, waitForHttp } from './lib/proc.js';
import { SERVICE_MAIN, unlinkMatching } from './lib/servers.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';
const runId = randomUUID().slice(0, 8);
const prefixes: string[] = [];
const newPrefix = (name: string): string => {
  const prefix = `bench-wr-${runId}-${name}`;
  prefixes.push(prefix);
  return prefix;
};

const admin = new Redis(REDIS_URL);
const wanted = new Set(process.argv.slice(2));
const runs = (name: string): boolean => wanted.size === 0 || wanted.has(name);
const figures: Record<string, unknown> = {};

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const median = (xs: number[]): number => pct([...xs].sort((a, b) => a - b), 50);

async function memoryOf(key: string): Promise<number> {
  return Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
}

async function joins(): Promise<void> {
  const prefix = newPrefix('joins');
  const rooms = new RedisWaitingRoom({ redis: REDIS_URL, keyPrefix: prefix });
  const n = 100_000;
  // Nobody is admitted meanwhile (no tick runs): the queue only grows.
  await rooms.configure('flash', { admitPerMinute: 60, maxActiveUsers: 1000, admissionMs: 600_000 });
  const started = performance.now();
  let lastTenth = 0;
  await forEachLimit(Array.from({ length: n }, (_, i) => i), 64, async (i) => {
    if (i === n - 10_000) lastTenth = performance.now();
    await rooms.join('flash', `user-${i}`);
  });
  const ended = performance.now();
  const queueBytes = await memoryOf(`{${prefix}}:wr-queue:flash`);
  const seenBytes = await memoryOf(`{${prefix}}:wr-seen:flash`);
  figures.joins = {
    users: n,
    joinsPerSecond: Math.round(n / ((ended - started) / 1000)),
    joinsPerSecondAt90kTo100k: Math.round(10_000 / ((ended - lastTenth) / 1000)),
    redisBytesPerQueuedUser: Math.round((queueBytes + seenBytes) / n),
    queueZsetBytes: queueBytes,
    seenZsetBytes: seenBytes,
  };
  await rooms.close();

  // Early joiners: 100,000 before salesStartAt, then the one call that draws their places.
  const early = newPrefix('early');
  const earlyRooms = new RedisWaitingRoom({ redis: REDIS_URL, keyPrefix: early });
  const salesStartAt = Date.now() + 3_600_000;
  await earlyRooms.configure('flash', { admitPerMinute: 60, maxActiveUsers: 1000, admissionMs: 600_000, salesStartAt });
  const t0 = performance.now();
  await forEachLimit(Array.from({ length: n }, (_, i) => i), 64, async (i) => {
    await earlyRooms.join('flash', `user-${i}`);
  });
  const earlyJoins = Math.round(n / ((performance.now() - t0) / 1000));
  // The start moves to now (not placed yet, so it may): the next tick places everyone in one call.
  await earlyRooms.configure('flash', { admitPerMinute: 60, maxActiveUsers: 1000, admissionMs: 600_000, salesStartAt: Date.now() - 1 });
  // Places are drawn at the first call after the start and moved into the queue 2000 per call.
  let calls = 0;
  let longest = 0;
  const t1 = performance.now();
  while ((await admin.zcard(`{${early}}:wr-early:flash`)) > 0) {
    const t = performance.now();
    await earlyRooms.admit('flash', { abandonMs: 3_600_000 });
    longest = Math.max(longest, performance.now() - t);
    calls++;
  }
  (figures.joins as Record<string, unknown>).earlyJoinsPerSecond = earlyJoins;
  (figures.joins as Record<string, unknown>).placementOf100kEarlyJoiners = { calls, longestCallMs: Math.round(longest), totalMs: Math.round(performance.now() - t1) };
  await earlyRooms.close();
}

async function lockThroughput(): Promise<void> {
  const prefix = newPrefix('lock');
  const policy = { lockDurationMs: 600_000, maxLifetimeMs: 900_000, maxActiveLocksPerUser: 5, maxTicketsPerLock: 10, retentionMs: 600_000 };
  const store = new RedisLockStore({ redis: REDIS_URL, policy, keyPrefix: prefix });
  const rooms = new RedisWaitingRoom({ redis: REDIS_URL, keyPrefix: prefix });
  const usersPerRound = 40_000;
  const rounds: Array<{ mode: 'on' | 'off'; perSecond: number }> = [];
  // Pairs in alternating order (off-on, on-off, …): drift on a shared machine hits both sides alike.
  for (let round = 0; round < 12; round++) {
    const mode = (Math.floor(round / 2) + round) % 2 === 0 ? 'off' : 'on';
    const eventId = `ev-${round}`;
    await store.defineEvent({ id: eventId, categories: [{ categoryId: 'ga', totalTickets: 100_000_000 }] }, { replaceTotals: false });
    const users = Array.from({ length: usersPerRound }, (_, i) => `r${round}-u${i}`);
    if (mode === 'on') {
      await rooms.configure(eventId, { admitPerMinute: 60, maxActiveUsers: 1_000_000, admissionMs: 600_000 });
      // Every user admitted, written directly (the setup is not what is measured; the lock script reads these).
      const until = String(Date.now() + 600_000);
      for (let i = 0; i < users.length; i += 5000) {
        const args = users.slice(i, i + 5000).flatMap((u) => [until, u]);
        await admin.zadd(`{${prefix}}:wr-admitted:${eventId}`, ...args);
      }
    }
    let done = 0;
    let refused = 0;
    const deadline = performance.now() + 1500;
    const started = performance.now();
    await forEachLimit(Array.from({ length: 32 }, (_, i) => i), 32, async (worker) => {
      for (let i = worker; performance.now() < deadline && i < users.length; i += 32) {
        try {
          await store.lock({ eventId, categoryId: 'ga', userId: users[i]!, sessionId: 's', hold: { kind: 'quantity', quantity: 1 } });
          done++;
        } catch {
          refused++;
        }
      }
    });
    const perSecond = Math.round(done / ((performance.now() - started) / 1000));
    if (refused > 0) throw new Error(`${refused} locks refused in round ${round} (${mode})`);
    rounds.push({ mode, perSecond });
  }
  const on = median(rounds.filter((r) => r.mode === 'on').map((r) => r.perSecond));
  const off = median(rounds.filter((r) => r.mode === 'off').map((r) => r.perSecond));
  const pairRatios: number[] = [];
  for (let i = 0; i + 1 < rounds.length; i += 2) {
    const [a, b] = [rounds[i]!, rounds[i + 1]!];
    pairRatios.push((a.mode === 'on' ? a.perSecond : b.perSecond) / (a.mode === 'on' ? b.perSecond : a.perSecond));
  }
  figures.lock = {
    rounds: rounds.map((r) => `${r.mode} ${r.perSecond}/s`).join(', '),
    medianLocksPerSecondRoomOff: off,
    medianLocksPerSecondRoomOn: on,
    ratioOfMedians: Math.round((on / off) * 1000) / 1000,
    medianPairedRatio: Math.round(median(pairRatios) * 1000) / 1000,
  };
  await Promise.all([store.close(), rooms.close()]);
}

async function fanout(): Promise<void> {
  const prefix = newPrefix('fanout');
  const secret = `bench-wr-secret-${runId}-0123456789`;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-wr-'));
  const catalogFile = path.join(dir, 'catalog.json');
  // Hardly anyone is admitted (the bucket holds one and a half): the room stays full of waiting sockets.
  writeFileSync(
    catalogFile,
    JSON.stringify({ events: [{ id: 'flash', waitingRoom: { admitPerMinute: 0.01, maxActiveUsers: 1, admissionMinutes: 600 }, categories: [{ categoryId: 'ga', totalTickets: 100 }] }] }),
  );
  const port = await freePort();
  const child = spawnNode({
    name: `wr-fanout-${runId}`,
    args: [SERVICE_MAIN],
    env: {
      NODE_ENV: 'production',
      WEBSOCKET_PORT: String(port),
      WEBSOCKET_CORS_ORIGIN: 'http://localhost',
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      RABBITMQ_URL: undefined,
      EVENTS_SOURCE: 'catalog',
      CATALOG_FILE: catalogFile,
      JWT_SECRET: secret,
      ADMISSION_TOKEN_SECRET: `${secret}-admission`,
      WS_ALLOW_ANONYMOUS: 'false',
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  let sockets: LiteSocket[] = [];
  try {
    await waitForHttp(`${url}/ready`, 60_000, child);
    const n = Number(process.env.BENCH_FANOUT_SOCKETS ?? 10_000);
    const latencies: number[][] = [];
    let current: number[] | undefined;
    sockets = await connectMany(
      n,
      (i) => ({
        url,
        token: signHs256({ sub: `fan-${i}` }, secret),
        filter: (raw) => raw.includes('"queue-update"'),
        onEvent: (event, data) => {
          if (event !== 'queue-update' || !current) return;
          current.push(Date.now() - Date.parse((data as { timestamp: string }).timestamp));
        },
      }),
      200,
    );
    await forEachLimit(sockets, 200, async (socket) => {
      const answer = await socket.request<{ success: boolean }>('join-queue', { eventId: 'flash' });
      if (!answer.success) throw new Error(`join-queue refused: ${JSON.stringify(answer)}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // Each probe join changes the room: the next tick pushes one queue-update to all n sockets.
    for (let k = 0; k < 5; k++) {
      current = [];
      latencies.push(current);
      const probe = await connectMany(1, () => ({ url, token: signHs256({ sub: `probe-${k}` }, secret) }));
      await probe[0]!.request('join-queue', { eventId: 'flash' });
      await new Promise((resolve) => setTimeout(resolve, 2200));
      probe[0]!.close();
    }
    const all = latencies.flat().sort((a, b) => a - b);
    figures.fanout = {
      sockets: n,
      updates: latencies.length,
      deliveries: all.length,
      deliveredPerUpdate: latencies.map((l) => l.length),
      p50Ms: pct(all, 50),
      p99Ms: pct(all, 99),
      maxMs: all[all.length - 1],
    };
  } finally {
    for (const socket of sockets) socket?.terminate();
    await stopChild(child);
  }
}

try {
  if (runs('joins')) await joins();
  if (runs('lock')) await lockThroughput();
  if (runs('fanout')) await fanout();
  console.log(JSON.stringify(figures, null, 2));
  writeFileSync(path.join(import.meta.dirname, 'results', 'waiting-room-latest.json'), `${JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2)}\n`);
} finally {
  for (const prefix of prefixes) await unlinkMatching(admin, `{${prefix}}*`);
  admin.disconnect();
}
