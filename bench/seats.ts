/**
 * `npx tsx --conditions=source bench/seats.ts` — reserved seating figures (issue 15), against the Redis lock store itself
 * (Redis db 14, a unique key prefix removed at the end):
 *
 *   1. hold/release pairs of 2 seats vs lock/unlock pairs of quantity 2, closed loop, same concurrency,
 *      interleaved rounds (ratio of medians; target ≥ 0.8×);
 *   2. Redis commands sent per seat hold and per seat release (MONITOR, commands not run by a script);
 *   3. the seat map of a 60,000-seat event (10 % held): time of the store call and bytes of the
 *      `seat-map-response` JSON;
 *   4. Redis memory per seat (MEMORY USAGE of the seat keys of that event, divided by its seats);
 *   5. the `seat-update` for a 10-seat hold: bytes of its JSON and of the Socket.IO frame.
 *
 * Results: a table on stdout and bench/results/seats-latest.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { SeatUpdate } from '../libs/contracts/src/index.js';
import type { EventInfo, LockPolicy } from '../libs/lock-domain/src/index.js';
import { RedisLockStore } from '../libs/lock-store/src/index.js';
import { KEY } from '../libs/lock-store/src/redis/redis-keys.js';
import { unlinkMatching } from './lib/servers.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 3000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 16);

const POLICY: LockPolicy = { lockDurationMs: 600_000, maxLifetimeMs: 900_000, maxActiveLocksPerUser: 5, maxTicketsPerLock: 10, retentionMs: 60_000 };
const prefix = `bench-seats-${randomUUID().slice(0, 8)}`;
const base = `{${prefix}}`;

const seatsOf = (row: string, n: number) => Array.from({ length: n }, (_, i) => `${row}-${i + 1}`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function closedLoop(workers: number, ms: number, pair: (worker: number, i: number) => Promise<void>): Promise<number> {
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < until; i++) {
        await pair(w, i);
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

async function main(): Promise<void> {
  const admin = new Redis(REDIS_URL);
  const store = new RedisLockStore({ redis: REDIS_URL, policy: POLICY, keyPrefix: prefix });
  const results: Record<string, unknown> = {};
  try {
    // ---- 1. pairs per second ------------------------------------------------------------------
    const hall: EventInfo = {
      id: 'hall',
      categories: [
        { categoryId: 'seats', totalTickets: 0, seats: { rows: Array.from({ length: WORKERS }, (_, r) => ({ row: `R${r}`, seats: seatsOf(`R${r}`, 40) })) } },
        { categoryId: 'ga', totalTickets: 1_000_000 },
      ],
    };
    await store.defineEvent(hall, { replaceTotals: false });
    const seatPair = async (w: number, i: number) => {
      const first = (i * 2) % 38;
      const { value } = await store.holdSeats({ eventId: 'hall', seatIds: [`R${w}-${first + 1}`, `R${w}-${first + 2}`], userId: `s${w}`, sessionId: `s${w}` });
      await store.release(value.lock.lockId);
    };
    const gaPair = async (w: number) => {
      const { value } = await store.lock({ eventId: 'hall', categoryId: 'ga', hold: { kind: 'quantity', quantity: 2 }, userId: `g${w}`, sessionId: `g${w}` });
      await store.release(value.lock.lockId);
    };
    await closedLoop(WORKERS, 500, seatPair);
    await closedLoop(WORKERS, 500, (w) => gaPair(w));
    const seatRates: number[] = [];
    const gaRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      gaRates.push(await closedLoop(WORKERS, WINDOW_MS, (w) => gaPair(w)));
      seatRates.push(await closedLoop(WORKERS, WINDOW_MS, seatPair));
    }
    results.pairs = { seatPairsPerSecond: median(seatRates), quantityPairsPerSecond: median(gaRates), ratio: median(seatRates) / median(gaRates), rounds: ROUNDS, workers: WORKERS };

    // ---- 2. commands per hold / release --------------------------------------------------------
    const monitor = await admin.monitor();
    monitor.on('error', () => undefined);
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((a) => a === base)) sent.push(String(args[0]).toLowerCase());
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const OPS = 100;
    for (let i = 0; i < OPS; i++) await seatPair(0, i);
    await new Promise((resolve) => setTimeout(resolve, 300));
    monitor.disconnect();
    results.commandsPerSeatOperation = { holdsAndReleases: OPS * 2, commandsSent: sent.length, perOperation: sent.length / (OPS * 2), commands: [...new Set(sent)] };

    // ---- 3, 4. a 60,000-seat event ---------------------------------------------------------------
    const rows = Array.from({ length: 300 }, (_, r) => ({ row: `Row ${r + 1}`, seats: seatsOf(`S${r}`, 200) }));
    const stadium: EventInfo = { id: 'stadium', categories: [{ categoryId: 'bowl', totalTickets: 0, seats: { rows, blocked: rows.slice(0, 3).flatMap((r) => r.seats.slice(0, 10)) } }] };
    let started = performance.now();
    await store.defineEvent(stadium, { replaceTotals: false });
    const defineMs = performance.now() - started;
    // 10 % held: 600 locks of 10 seats, spread over the rows.
    for (let l = 0; l < 600; l++) {
      const row = rows[(l * 7) % 300] as { seats: string[] };
      const at = ((l * 13) % 19) * 10;
      await store.holdSeats({ eventId: 'stadium', seatIds: row.seats.slice(at, at + 10), userId: `fan-${l}`, sessionId: `fan-${l}` }).catch(() => undefined);
    }
    const mapTimes: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 7; i++) {
      started = performance.now();
      const { value } = await store.seatMap('stadium');
      const body = JSON.stringify({ success: true, ...value });
      mapTimes.push(performance.now() - started);
      bytes = Buffer.byteLength(body);
    }
    // The Redis part alone: the script that reads the taken seats (the layout is read once per layout version).
    const raw = store as unknown as { call(op: string, args: string[], schema: z.ZodType): Promise<unknown> };
    const scriptTimes: number[] = [];
    for (let i = 0; i < 7; i++) {
      started = performance.now();
      await raw.call('seatMap', ['stadium'], z.unknown());
      scriptTimes.push(performance.now() - started);
    }
    results.seatMap60k = {
      seats: 60_000,
      held: 6000,
      msMedian: median(mapTimes),
      msRuns: mapTimes.map((t) => Math.round(t * 10) / 10),
      redisScriptMsMedian: median(scriptTimes),
      jsonBytes: bytes,
      defineMs: Math.round(defineMs),
    };

    const ek = 'stadium';
    const ref = `${ek.length}:${ek}:bowl`;
    const keys = [`${base}:${KEY.seat}:${ek}`, `${base}:${KEY.seatPos}:${ek}`, `${base}:${KEY.seatRows}:${ref}`, `${base}:${KEY.seatRowNames}:${ref}`];
    let memory = 0;
    for (const key of keys) memory += Number((await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
    results.redisMemory = { bytes: memory, perSeat: memory / 60_000, keys: keys.length };

    // ---- 5. seat-update of a 10-seat hold --------------------------------------------------------
    const reply = await store.holdSeats({ eventId: 'stadium', seatIds: (rows[299] as { seats: string[] }).seats.slice(100, 110), userId: 'ten', sessionId: 'ten' });
    const delta = reply.seats?.[0];
    if (!delta) throw new Error('no seat delta');
    const update: SeatUpdate = { ...delta, timestamp: new Date(reply.now).toISOString() };
    const json = JSON.stringify(update);
    const frame = `42/realtime,${JSON.stringify(['seat-update', update])}`;
    results.seatUpdate10 = { jsonBytes: Buffer.byteLength(json), socketIoFrameBytes: Buffer.byteLength(frame) };
  } finally {
    await store.close();
    await unlinkMatching(admin, `${base}*`);
    await admin.quit();
  }

  const p = results.pairs as { seatPairsPerSecond: number; quantityPairsPerSecond: number; ratio: number };
  const c = results.commandsPerSeatOperation as { perOperation: number };
  const m = results.seatMap60k as { msMedian: number; redisScriptMsMedian: number; jsonBytes: number };
  const r = results.redisMemory as { perSeat: number };
  const u = results.seatUpdate10 as { jsonBytes: number; socketIoFrameBytes: number };
  console.log(`
| Figure | Result |
|---|---|
| hold/release pairs of 2 seats vs lock/unlock pairs of quantity 2 | ${p.seatPairsPerSecond.toFixed(0)} vs ${p.quantityPairsPerSecond.toFixed(0)} pairs/s = ${p.ratio.toFixed(2)}x (target >= 0.8x) |
| Redis commands sent per seat hold or release | ${c.perOperation.toFixed(2)} |
| seat map of a 60,000-seat event (10 % held) | ${m.msMedian.toFixed(1)} ms in the server (store call + JSON; of it the Redis script ${m.redisScriptMsMedian.toFixed(1)} ms), ${(m.jsonBytes / 1024).toFixed(0)} KiB of JSON |
| Redis memory per seat | ${r.perSeat.toFixed(1)} bytes |
| seat-update of a 10-seat hold | ${u.jsonBytes} bytes of JSON, ${u.socketIoFrameBytes} bytes as a Socket.IO frame |
`);
  const dir = path.join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'seats-latest.json'), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
