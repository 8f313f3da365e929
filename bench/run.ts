/**
 * `npm run bench` — the service against baselines measured in the same run (see README "Load testing").
 *
 *   npm run bench                     # everything, about 8-10 minutes on 2 cores
 *   npm run bench -- --quick          # shorter windows, fewer rounds, fewer sockets (~3 minutes)
 *   npm run bench -- --only=1,3       # some scenarios
 *   npm run bench -- --profile        # also CPU profiles of the service and the contract floor under scenario 1's load
 *   npm run bench -- --no-build       # use the dist/ already built
 *
 * Every server is a child process (the client load runs in other processes); Redis db 14 and
 * RabbitMQ names are unique per run and removed at the end. Results: one table on stdout,
 * bench/results/<stamp>.json + .svg, and latest.json / latest.svg.
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { UpdateSeen } from './clients/sockets.js';
import type { ClosedLoopResult } from './clients/closed-loop.js';
import { renderChart, type ChartRow } from './lib/chart.js';
import { signHs256 } from './lib/jwt.js';
import { LiteSocket } from './lib/lite-client.js';
import { outboxKey } from '../libs/lock-store/src/redis/redis-keys.js';
import { formatSummary, summarise } from './lib/profile-summary.js';
import { BENCH_DIR, ROOT, cpuMsOf, memoryOf, profileStart, profileStop, sleep, spawnNode, stopChild, type Child } from './lib/proc.js';
import {
  OrdersQueue,
  SERVICE_MAIN,
  amqpReachable,
  cleanRedis,
  commandCalls,
  diffCalls,
  redisPing,
  serviceHasClusterAdapter,
  startReference,
  startService,
  stopServer,
  type RunContext,
  type Server,
} from './lib/servers.js';
import { fmt, median, medianOf, pairedRatio, percentile, ratio, sortedCopy, wallNow } from './lib/stats.js';

// ---------------------------------------------------------------- settings

interface Flags {
  quick: boolean;
  build: boolean;
  only: Set<number>;
  rounds: number;
  warmupMs: number;
  durationMs: number;
  clients: number;
  rtPairs: number;
  idleSockets: number;
  members: number;
  burstMs: number;
  profile: boolean;
}

function parseFlags(argv: string[]): Flags {
  const get = (name: string): string | undefined => {
    const hit = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (hit === undefined) return undefined;
    return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : 'true';
  };
  if (get('help') !== undefined) {
    console.log(`npm run bench -- [--quick] [--only=1,2,3,4,5,6,7] [--rounds=N] [--duration=SECONDS] [--clients=N]
  [--sockets=N (scenario 3)] [--members=N (scenario 4)] [--profile] [--no-build]
env: BENCH_REDIS_URL (default redis://127.0.0.1:6379/14), BENCH_RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672),
     BENCH_MULTI_INSTANCE=1|0 (force / skip scenario 5; default: run it when the built service has the Socket.IO Redis adapter)`);
    process.exit(0);
  }
  const quick = get('quick') !== undefined;
  const num = (name: string, fallback: number): number => {
    const raw = get(name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} expects a positive number`);
    return value;
  };
  const only = get('only');
  return {
    quick,
    build: get('no-build') === undefined,
    only: new Set((only ?? '1,2,3,4,5,6,7').split(',').map(Number)),
    rounds: num('rounds', quick ? 2 : 4),
    warmupMs: quick ? 1500 : 2000,
    durationMs: num('duration', quick ? 4 : 6) * 1000,
    clients: num('clients', 50),
    rtPairs: quick ? 500 : 2000,
    // 19,000: as many sockets as one process may hold under these machines' open-file limit (20,000).
    idleSockets: num('sockets', quick ? 2000 : 19_000),
    members: num('members', quick ? 1000 : 10_000),
    burstMs: quick ? 1500 : 5000,
    profile: get('profile') !== undefined,
  };
}

const flags = parseFlags(process.argv.slice(2));
const runId = Date.now().toString(36);
const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const EVENT_ID = 'bench';
const HOT = 'hot';
const FAN_CATEGORIES = ['fan-a', 'fan-b'];

const ctx: RunContext = {
  runId,
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14',
  amqpUrl: process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  secret: `bench-secret-${runId}-0123456789abcdef`,
  catalogFile: path.join(tmpdir(), `bench-catalog-${runId}.json`),
  events: [{ id: EVENT_ID, categories: [HOT, ...FAN_CATEGORIES].map((categoryId) => ({ categoryId, totalTickets: 1_000_000 })) }],
};

const live: Server[] = [];
const children: Child[] = [];
let orders: OrdersQueue | undefined;
const exchanges = new Set<string>();
const queues = new Set<string>();

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function up(server: Promise<Server>): Promise<Server> {
  const s = await server;
  live.push(s);
  if (s.exchange) exchanges.add(s.exchange);
  for (const q of s.queues) queues.add(q);
  if (s.exchange && orders) await orders.bind(s.exchange);
  return s;
}

async function down(server: Server): Promise<void> {
  await stopServer(server);
  live.splice(live.indexOf(server), 1);
}

// ---------------------------------------------------------------- client processes

/**
 * Spawns a client process (`bench/clients/<script>`, settings in BENCH_CLIENT) and waits for its
 * `{ ready }`; stops it again if it says `{ error }`, exits or stays silent.
 */
async function startClient<T extends object>(
  script: string,
  settings: object,
  options: { nodeFlags?: string[]; timeoutMs: number; failure: string },
): Promise<{ child: Child; ready: T }> {
  const child = spawnNode({
    name: `${runId}-${path.basename(script, '.ts')}`,
    args: [...(options.nodeFlags ?? []), path.join(BENCH_DIR, 'clients', script)],
    env: { BENCH_CLIENT: JSON.stringify(settings) },
  });
  children.push(child);
  try {
    const ready = await child.next<T & { ready?: boolean; error?: string }>((m) => m.ready === true || typeof m.error === 'string', options.timeoutMs);
    if (!ready.ready) throw new Error(ready.error ?? options.failure);
    return { child, ready };
  } catch (error) {
    await endClient(child, 3000);
    throw error;
  }
}

async function endClient(child: Child, graceMs: number): Promise<void> {
  await stopChild(child, graceMs);
  children.splice(children.indexOf(child), 1);
}

/** CPU used during a closed-loop window (warm-up included), per successful pair, in µs. */
interface CpuCost {
  serverUsPerPair: number;
  clientUsPerPair: number;
  /** The Redis server's and the RabbitMQ node's CPU in the same window (they share the 2 cores). */
  redisUsPerPair: number;
  rabbitUsPerPair: number;
}

/** The pids of the Redis server behind ctx.redisUrl (it says so itself) and of the RabbitMQ node (beam.smp), when found. */
const backendPids: { redis?: number; rabbit?: number } = {};
async function findBackendPids(): Promise<void> {
  const redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const pid = /process_id:(\d+)/.exec(await redis.info('server'))?.[1];
    if (pid) backendPids.redis = Number(pid);
  } finally {
    redis.disconnect();
  }
  try {
    const pids = execSync('pidof beam.smp', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split(/\s+/);
    if (pids.length === 1) backendPids.rabbit = Number(pids[0]);
  } catch {
    // No local RabbitMQ node (or several): not reported.
  }
}

async function closedLoop(
  urls: string[],
  options: { clients: number; durationMs?: number; pairsPerClient?: number; userPrefix: string; warmupMs?: number; server?: Server },
  beforeGo?: () => Promise<void>,
): Promise<ClosedLoopResult & { cpu: CpuCost }> {
  const { child } = await startClient(
    'closed-loop.ts',
    {
      urls,
      secret: ctx.secret,
      userPrefix: options.userPrefix,
      clients: options.clients,
      eventId: EVENT_ID,
      categoryId: HOT,
      warmupMs: options.warmupMs ?? flags.warmupMs,
      ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
      ...(options.pairsPerClient === undefined ? {} : { pairsPerClient: options.pairsPerClient }),
    },
    { timeoutMs: 60_000, failure: 'closed-loop client failed to start' },
  );
  try {
    await beforeGo?.();
    const serverCpu = cpuMsOf(options.server?.child.proc.pid);
    const clientCpu = cpuMsOf(child.proc.pid);
    const redisCpu = cpuMsOf(backendPids.redis);
    const rabbitCpu = cpuMsOf(backendPids.rabbit);
    const reply = await child.ask<{ result?: ClosedLoopResult; error?: string }>({ cmd: 'go' }, (m) => 'result' in m || 'error' in m, 180_000);
    if (!reply.result) throw new Error(reply.error ?? 'closed-loop client failed');
    const perPair = (before: number, after: number): number => ((after - before) * 1000) / Math.max(1, reply.result?.totalPairs ?? 0);
    const cpu = {
      serverUsPerPair: perPair(serverCpu, cpuMsOf(options.server?.child.proc.pid)),
      clientUsPerPair: perPair(clientCpu, cpuMsOf(child.proc.pid)),
      redisUsPerPair: perPair(redisCpu, cpuMsOf(backendPids.redis)),
      rabbitUsPerPair: perPair(rabbitCpu, cpuMsOf(backendPids.rabbit)),
    };
    child.send({ cmd: 'close' });
    refused(`closed loop ${options.userPrefix}`, reply.result.errors, reply.result.errorCodes);
    return { ...reply.result, cpu };
  } finally {
    await endClient(child, 3000);
  }
}

async function socketsProcess(url: string, count: number, userPrefix: string, eventId?: string): Promise<{ child: Child; connectMs: number }> {
  const { child, ready } = await startClient<{ connectMs?: number }>(
    'sockets.ts',
    { url, secret: ctx.secret, userPrefix, count, ...(eventId === undefined ? {} : { eventId }) },
    { nodeFlags: ['--max-old-space-size=2048'], timeoutMs: 300_000, failure: 'sockets process failed' },
  );
  return { child, connectMs: ready.connectMs ?? 0 };
}

async function closeSockets(child: Child): Promise<void> {
  child.send({ cmd: 'close' });
  await Promise.race([child.exited, sleep(5000)]);
  await endClient(child, 2000);
}

// ---------------------------------------------------------------- results

interface Figure {
  scenario: number;
  figure: string;
  service: string;
  baseline: string;
  ratio: string;
  target: string;
  holds: string;
}
const figures: Figure[] = [];
/**
 * Requests refused or never answered, by where they happened: any at all fails the run (a bench that
 * counted refusals as work could claim anything; here they are never counted, and they are reported).
 */
const refusals: string[] = [];

function refused(where: string, count: number, codes: Record<string, number>): void {
  if (count > 0) refusals.push(`${where}: ${count} request(s) refused or unanswered ${JSON.stringify(codes)}`);
}
const chart: ChartRow[] = [];
const json: Record<string, unknown> = {};
const notes: string[] = [];

function holds(ok: boolean | undefined): string {
  return ok === undefined ? '–' : ok ? 'yes' : 'NO';
}

// ---------------------------------------------------------------- 1. throughput and latency

type Measured = ClosedLoopResult & { cpu: CpuCost };

interface Scenario1 {
  lua: Measured[];
  contract: Measured[];
  /** The contract floor without its outbox (the floor before CONTRACT §4 was held to): reported. */
  publishOnly: Measured[];
  service: Measured[];
  eventsPerPair: { contract: number[]; publishOnly: number[]; service: number[] };
}

async function settleCount(queue: OrdersQueue): Promise<number> {
  // The service's relay publishes asynchronously: wait until the count stops moving.
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const count = await queue.count();
    if (count === last) break;
    last = count;
    await sleep(250);
  }
  return queue.drain();
}

async function scenario1(lua: Server, contract: Server | undefined, publishOnly: Server | undefined, service: Server): Promise<Scenario1> {
  const out: Scenario1 = { lua: [], contract: [], publishOnly: [], service: [], eventsPerPair: { contract: [], publishOnly: [], service: [] } };
  const targets: Array<[keyof Omit<Scenario1, 'eventsPerPair'>, Server | undefined]> = [
    ['lua', lua],
    ['contract', contract],
    ['service', service],
    ['publishOnly', publishOnly],
  ];
  for (let round = 1; round <= flags.rounds; round++) {
    // A B C, then B C A, …: no target always runs first (or right after the same neighbour).
    const order = targets.map((_, i) => targets[(i + round - 1) % targets.length] as (typeof targets)[number]);
    for (const [key, server] of order) {
      if (!server) continue;
      if (orders) await orders.drain();
      const result = await closedLoop([server.url], { clients: flags.clients, durationMs: flags.durationMs, userPrefix: `s1-${key}-r${round}`, server });
      out[key].push(result);
      let perPair = Number.NaN;
      if (orders && key !== 'lua') {
        // Count of everything published during the run (warm-up included) over the pairs done in it.
        const published = await settleCount(orders);
        perPair = published / result.totalPairs;
        out.eventsPerPair[key].push(perPair);
      }
      if (key === 'contract') {
        // The floor's outbox is trimmed as RabbitMQ confirms: after the window it holds (almost) nothing.
        const admin = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 1 });
        const left = await admin.xlen(outboxKey(`bench-${ctx.runId}-contract-floor`)).finally(() => admin.disconnect());
        if (left > 100) throw new Error(`the contract floor left ${left} outbox entries untrimmed`);
      }
      log(
        `1. round ${round} ${key.padEnd(11)} ${fmt(result.pairsPerSecond, 0)} pairs/s  p50 ${fmt(result.p50, 2)} ms  p99 ${fmt(result.p99, 2)} ms` +
          `  errors ${result.errors}${Number.isFinite(perPair) ? `  ~${perPair.toFixed(2)} events/pair` : ''}` +
          `  CPU/pair: server ${fmt(result.cpu.serverUsPerPair, 0)} µs, load generator ${fmt(result.cpu.clientUsPerPair, 0)} µs, Redis ${fmt(result.cpu.redisUsPerPair, 0)} µs, RabbitMQ ${fmt(result.cpu.rabbitUsPerPair, 0)} µs`,
      );
      if (result.errors > 0) log(`   error codes: ${JSON.stringify(result.errorCodes)}`);
    }
  }
  return out;
}

/** Scenario 1's targets against the contract floor (issue 11): throughput ≥ 0.9×, p99 ≤ 1.5×. */
const TPUT_TARGET = 0.9;
const P99_TARGET = 1.5;
/** Scenario 3's target: RSS per idle authenticated socket. */
const RSS_TARGET_KB = 14;

function report1(s1: Scenario1): void {
  const medians = (list: ClosedLoopResult[]): { tput: number; p50: number; p99: number } => ({
    tput: medianOf(list, 'pairsPerSecond'),
    p50: medianOf(list, 'p50'),
    p99: medianOf(list, 'p99'),
  });
  const svc = medians(s1.service);
  const con = medians(s1.contract);
  const lua = medians(s1.lua);
  // Ratios per round (adjacent runs), then their median: robust to drift on a shared machine.
  const tputVsContract = pairedRatio(s1.service, s1.contract, 'pairsPerSecond');
  const p99VsContract = pairedRatio(s1.service, s1.contract, 'p99');
  const p50VsContract = pairedRatio(s1.service, s1.contract, 'p50');
  const tputVsLua = pairedRatio(s1.service, s1.lua, 'pairsPerSecond');
  const publishOnly = medians(s1.publishOnly);
  const tputVsPublishOnly = pairedRatio(s1.service, s1.publishOnly, 'pairsPerSecond');
  const p99VsPublishOnly = pairedRatio(s1.service, s1.publishOnly, 'p99');
  const p99VsLua = pairedRatio(s1.service, s1.lua, 'p99');
  const clients = `${flags.clients} clients`;
  const hasContract = s1.contract.length > 0;
  figures.push(
    {
      scenario: 1,
      figure: `lock+unlock pairs/s (${clients})`,
      service: fmt(svc.tput, 0),
      baseline: hasContract ? `contract floor ${fmt(con.tput, 0)}` : 'contract floor n/a (no RabbitMQ)',
      ratio: `${fmt(tputVsContract, 2)}×`,
      target: `≥ ${TPUT_TARGET.toFixed(2)}×`,
      holds: holds(hasContract ? tputVsContract >= TPUT_TARGET : undefined),
    },
    {
      scenario: 1,
      figure: 'p99 latency per request, ms',
      service: fmt(svc.p99, 2),
      baseline: hasContract ? `contract floor ${fmt(con.p99, 2)}` : 'n/a',
      ratio: `${fmt(p99VsContract, 2)}×`,
      target: `≤ ${P99_TARGET.toFixed(2)}×`,
      holds: holds(hasContract ? p99VsContract <= P99_TARGET : undefined),
    },
    {
      scenario: 1,
      figure: 'p50 latency per request, ms',
      service: fmt(svc.p50, 2),
      baseline: hasContract ? `contract floor ${fmt(con.p50, 2)}` : 'n/a',
      ratio: `${fmt(p50VsContract, 2)}×`,
      target: '–',
      holds: '–',
    },
    ...(s1.publishOnly.length > 0
      ? [
          {
            scenario: 1,
            figure: 'pairs/s vs the publish-only floor (no outbox)',
            service: fmt(svc.tput, 0),
            baseline: `publish-only floor ${fmt(publishOnly.tput, 0)}`,
            ratio: `${fmt(tputVsPublishOnly, 2)}×`,
            target: '(report)',
            holds: '–',
          },
          {
            scenario: 1,
            figure: 'p99 vs the publish-only floor, ms',
            service: fmt(svc.p99, 2),
            baseline: `publish-only floor ${fmt(publishOnly.p99, 2)}`,
            ratio: `${fmt(p99VsPublishOnly, 2)}×`,
            target: '(report)',
            holds: '–',
          },
        ]
      : []),
    {
      scenario: 1,
      figure: 'pairs/s vs the Lua floor',
      service: fmt(svc.tput, 0),
      baseline: `Lua floor ${fmt(lua.tput, 0)}`,
      ratio: `${fmt(tputVsLua, 2)}×`,
      target: '(report)',
      holds: '–',
    },
    {
      scenario: 1,
      figure: 'p99 vs the Lua floor, ms',
      service: fmt(svc.p99, 2),
      baseline: `Lua floor ${fmt(lua.p99, 2)}`,
      ratio: `${fmt(p99VsLua, 2)}×`,
      target: '(report)',
      holds: '–',
    },
  );
  // CPU per pair is far less sensitive to a busy machine than pairs/s: the work each side does.
  const cpuOf = (list: Measured[], side: keyof CpuCost): number => median(list.map((r) => r.cpu[side]));
  const cpu = {
    service: cpuOf(s1.service, 'serverUsPerPair'),
    contract: cpuOf(s1.contract, 'serverUsPerPair'),
    publishOnly: cpuOf(s1.publishOnly, 'serverUsPerPair'),
    lua: cpuOf(s1.lua, 'serverUsPerPair'),
    generator: median([...s1.service, ...s1.contract, ...s1.publishOnly, ...s1.lua].map((r) => r.cpu.clientUsPerPair)),
  };
  figures.push({
    scenario: 1,
    figure: 'server CPU per lock+unlock pair, µs',
    service: fmt(cpu.service, 0),
    baseline: `contract floor ${fmt(cpu.contract, 0)} · publish-only ${fmt(cpu.publishOnly, 0)} · Lua floor ${fmt(cpu.lua, 0)}`,
    ratio: `${fmt(ratio(cpu.service, cpu.contract), 2)}×`,
    target: '(report)',
    holds: '–',
  });
  notes.push(
    `1. the load generator (one process, ${flags.clients} sockets) used ${fmt(cpu.generator, 0)} µs of CPU per pair (median over every window), ` +
      `the service ${fmt(cpu.service, 0)} µs, the contract floor ${fmt(cpu.contract, 0)} µs, the publish-only floor ${fmt(cpu.publishOnly, 0)} µs, the Lua floor ${fmt(cpu.lua, 0)} µs; Redis and RabbitMQ share the same 2 cores`,
  );
  const backend = (list: Measured[]): string =>
    `Redis ${fmt(cpuOf(list, 'redisUsPerPair'), 0)} µs, RabbitMQ ${fmt(cpuOf(list, 'rabbitUsPerPair'), 0)} µs, all together ${fmt(
      median(list.map((r) => r.cpu.serverUsPerPair + r.cpu.clientUsPerPair + r.cpu.redisUsPerPair + r.cpu.rabbitUsPerPair)),
      0,
    )} µs`;
  notes.push(
    `1. the machine's CPU per pair in the same windows: service ${backend(s1.service)}; contract floor ${backend(s1.contract)}; ` +
      `publish-only floor ${backend(s1.publishOnly)}; Lua floor ${backend(s1.lua)}`,
  );
  notes.push(
    '1. the contract floor keeps each lifecycle event in the outbox stream (appended by the same script) until RabbitMQ confirms it, as CONTRACT §4 asks; ' +
      'the publish-only floor publishes from the reply alone (an unconfirmed event dies with the process) and is the contract floor of earlier runs',
  );
  if (s1.eventsPerPair.service.length > 0) {
    notes.push(
      `1. lifecycle events reaching a bound queue per lock+unlock pair (expect 2): service ${fmt(median(s1.eventsPerPair.service), 2)}, contract floor ${fmt(median(s1.eventsPerPair.contract), 2)}, publish-only floor ${fmt(median(s1.eventsPerPair.publishOnly), 2)}`,
    );
  }
  chart.push(
    { label: '1. throughput vs contract floor', value: tputVsContract, unit: '×', target: TPUT_TARGET, direction: 'min', baseline: 1, baselineLabel: 'contract floor' },
    { label: '1. p99 latency vs contract floor', value: p99VsContract, unit: '×', target: P99_TARGET, direction: 'max', baseline: 1, baselineLabel: 'contract floor' },
    { label: '1. throughput vs Lua floor', value: tputVsLua, unit: '×', baseline: 1, baselineLabel: 'Lua floor' },
  );
  json.throughput = {
    clients: flags.clients,
    rounds: flags.rounds,
    windowSeconds: flags.durationMs / 1000,
    medians: { service: svc, contractFloor: con, publishOnlyFloor: publishOnly, luaFloor: lua },
    cpuUsPerPair: cpu,
    ratios: { tputVsContract, p99VsContract, p50VsContract, tputVsPublishOnly, p99VsPublishOnly, tputVsLua, p99VsLua },
    eventsPerPair: s1.eventsPerPair,
    runs: s1,
  };
}

// ---------------------------------------------------------------- 2. Redis round trips

/**
 * Which commands clients sent (not those a Lua script ran), in the bench's db, per source address:
 * MONITOR marks script-internal commands with the source `lua`, which `INFO commandstats` mixes in.
 */
async function monitorWindow(
  url: string,
  db: string,
): Promise<{ stop: () => Promise<{ client: Map<string, number>; lua: number; luaByName: Map<string, number>; bySource: Map<string, Map<string, number>> }> }> {
  // A raw connection: MONITOR lines are `+<time> [<db> <source>] "<command>" …`.
  const target = new URL(url);
  const socket = createConnection({ host: target.hostname, port: Number(target.port || 6379) });
  const client = new Map<string, number>();
  const bySource = new Map<string, Map<string, number>>();
  const luaByName = new Map<string, number>();
  let lua = 0;
  let rest = '';
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\r\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^\+[\d.]+ \[(\S+) ([^\]]+)\] "([^"]+)"/.exec(line);
      if (!match || match[1] !== db) continue;
      const source = match[2] ?? '';
      const name = (match[3] ?? '').toLowerCase();
      if (source === 'lua') {
        lua++;
        luaByName.set(name, (luaByName.get(name) ?? 0) + 1);
        continue;
      }
      if (name === 'info' || name === 'monitor') continue;
      client.set(name, (client.get(name) ?? 0) + 1);
      const perSource = bySource.get(source) ?? new Map<string, number>();
      perSource.set(name, (perSource.get(name) ?? 0) + 1);
      bySource.set(source, perSource);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  if (target.password) socket.write(`AUTH ${decodeURIComponent(target.password)}\r\n`);
  socket.write('MONITOR\r\n');
  await sleep(100);
  return {
    stop: async () => {
      await sleep(100);
      socket.destroy();
      return { client, lua, luaByName, bySource };
    },
  };
}

async function scenario2(service: Server): Promise<void> {
  const redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 1 });
  const db = new URL(ctx.redisUrl).pathname.replace('/', '') || '0';
  const clients = 10;
  const pairsPerClient = Math.max(1, Math.round(flags.rtPairs / clients));
  const ops = 2 * clients * pairsPerClient;
  const statsPerOp: Array<Map<string, number>> = [];
  const monitorPerOp: Array<Map<string, number>> = [];
  const luaPerOp: number[] = [];
  const luaPublishPerOp: number[] = [];
  const connectionsSeen: number[] = [];
  /** Per op, from the connection that carries the lock scripts (MONITOR by source): its EVALSHA, and all it sent. */
  const requestEvalPerOp: number[] = [];
  const requestAllPerOp: number[] = [];
  const rounds = Math.max(3, flags.rounds);
  try {
    for (let round = 1; round <= rounds; round++) {
      // (a) load window: N pairs, with INFO commandstats around it (server-wide) and MONITOR (this db, by source).
      let before = new Map<string, number>();
      let started = 0;
      let watch: Awaited<ReturnType<typeof monitorWindow>> | undefined;
      await closedLoop([service.url], { clients, pairsPerClient, userPrefix: `s2-r${round}`, warmupMs: 0 }, async () => {
        await sleep(300);
        watch = await monitorWindow(ctx.redisUrl, db);
        before = await commandCalls(redis);
        started = wallNow();
      });
      // The outbox relay publishes after the answers: let it finish inside the window.
      await sleep(500);
      const after = await commandCalls(redis);
      const elapsed = wallNow() - started;
      if (!watch) throw new Error('monitor not started');
      const seen = await watch.stop();
      const load = diffCalls(after, before);
      // (b) idle window of the same length: the service (and whatever else shares the server) at rest.
      const idleBefore = await commandCalls(redis);
      await sleep(elapsed);
      const idle = diffCalls(await commandCalls(redis), idleBefore);
      // Commands clients sent (per MONITOR); the rest of commandstats ran inside scripts.
      const clientNames = new Set(seen.client.keys());
      const net = new Map<string, number>();
      for (const name of clientNames) {
        const value = ((load.get(name) ?? 0) - (idle.get(name) ?? 0)) / ops;
        if (Math.abs(value) >= 0.005) net.set(name, value);
      }
      statsPerOp.push(net);
      monitorPerOp.push(new Map([...seen.client].map(([k, v]) => [k, v / ops])));
      luaPerOp.push(seen.lua / ops);
      luaPublishPerOp.push((seen.luaByName.get('publish') ?? 0) / ops);
      connectionsSeen.push(seen.bySource.size);
      // The request path is the connection with the most EVALSHA (one per lock or unlock); the outbox
      // relay's scripts run on a connection of their own and are not awaited by any request.
      const [requestSource] = [...seen.bySource.values()].sort((a, b) => (b.get('evalsha') ?? 0) - (a.get('evalsha') ?? 0));
      requestEvalPerOp.push((requestSource?.get('evalsha') ?? 0) / ops);
      requestAllPerOp.push([...(requestSource?.values() ?? [])].reduce((a, b) => a + b, 0) / ops);
      log(
        `2. round ${round}: ${ops} ops in ${(elapsed / 1000).toFixed(1)} s; sent per op (commandstats, load − idle): ` +
          `${[...net].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; inside scripts per op (MONITOR): ${(seen.lua / ops).toFixed(1)}`,
      );
    }
  } finally {
    redis.disconnect();
  }
  const medianPerName = (list: Array<Map<string, number>>): Map<string, number> => {
    const names = new Set(list.flatMap((m) => [...m.keys()]));
    return new Map([...names].map((name) => [name, median(list.map((m) => m.get(name) ?? 0))]));
  };
  const stats = medianPerName(statsPerOp);
  const monitored = medianPerName(monitorPerOp);
  const describe = (m: Map<string, number>): string =>
    [...m].filter(([, v]) => Math.abs(v) >= 0.01).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
  const awaited = median(requestEvalPerOp);
  const requestPath = median(requestAllPerOp);
  // What clients sent, from MONITOR: commandstats also counts the same names run inside scripts.
  const total = [...monitored.values()].reduce((a, b) => a + b, 0);
  /** A per-operation count against the Lua floor's 1; `limit` undefined = reported only. */
  const perOp = (figure: string, value: number, baseline: string, limit?: number): Figure => ({
    scenario: 2,
    figure,
    service: fmt(value, 2),
    baseline,
    ratio: `${fmt(value, 2)}×`,
    target: limit === undefined ? '(report)' : '1',
    holds: limit === undefined ? '–' : holds(Number.isFinite(value) ? value <= limit : undefined),
  });
  figures.push(
    perOp('Redis round trips awaited per lock/unlock (EVALSHA on the request connection)', awaited, 'Lua floor 1 (by construction)', 1.02),
    perOp('Redis commands sent per lock/unlock by the request path (all on that connection)', requestPath, 'Lua floor 1', 1.02),
    perOp('all Redis commands sent per lock/unlock (+ outbox relay)', total, 'Lua floor 1'),
  );
  notes.push(
    `2. commands sent to Redis per lock or unlock, INFO commandstats load − idle, median of ${statsPerOp.length} windows: ${describe(stats)}` +
      `; MONITOR on db ${db} agrees: ${describe(monitored)} from ${median(connectionsSeen)} connections; inside the scripts (not round trips): ${fmt(median(luaPerOp))} commands per op, of which PUBLISH ${fmt(median(luaPublishPerOp), 2)}`,
  );
  chart.push({ label: '2. Redis commands / op (request path)', value: requestPath, unit: '', target: 1, direction: 'max', baseline: 1, baselineLabel: 'Lua floor' });
  json.roundTrips = {
    operations: ops,
    commandstatsPerOp: Object.fromEntries(stats),
    monitorPerOp: Object.fromEntries(monitored),
    luaInternalPerOp: median(luaPerOp),
    luaPublishPerOp: median(luaPublishPerOp),
    awaitedPerOp: awaited,
    requestPathPerOp: requestPath,
    totalPerOp: total,
    windows: statsPerOp.map((m) => Object.fromEntries(m)),
  };
}

// ---------------------------------------------------------------- 3. memory per idle socket

async function scenario3(): Promise<void> {
  const count = flags.idleSockets;
  // RSS after a full GC still varies by ~1.5 KB per socket from round to round (what the allocator
  // keeps of freed native memory; the JS heap per socket varies by < 0.1 KB): every round counts.
  const rounds = flags.rounds;
  const per: { plain: number[]; service: number[] } = { plain: [], service: [] };
  const heap: { plain: number[]; service: number[] } = { plain: [], service: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const kind of ['plain', 'service'] as const) {
      const server = await up(kind === 'plain' ? startReference(ctx, 'lua', `mem-plain-${round}`) : startService(ctx, { name: `mem-svc-${round}` }));
      try {
        // Warm-up: 1,000 sockets come and go first, so the one-off costs of the first connections
        // (the young generation growing from 16 to 32 MB, compiled code, pools) are paid before the
        // baseline and not spread over the sockets measured; the figure is the marginal cost of one.
        const warm = await socketsProcess(server.url, Math.min(1000, Math.ceil(count / 10)), `s3-${kind}-r${round}-warm`);
        await closeSockets(warm.child);
        await sleep(1000);
        const before = await memoryOf(server.child);
        const { child, connectMs } = await socketsProcess(server.url, count, `s3-${kind}-r${round}`);
        await sleep(2000);
        await memoryOf(server.child);
        await sleep(1000);
        const after = await memoryOf(server.child);
        const kb = (after.rss - before.rss) / count / 1024;
        const heapKb = (after.heapUsed - before.heapUsed) / count / 1024;
        per[kind].push(kb);
        heap[kind].push(heapKb);
        log(
          `3. round ${round} ${kind.padEnd(7)} ${count} sockets in ${(connectMs / 1000).toFixed(1)} s: RSS ${fmt(before.rss / 1048576)} → ${fmt(after.rss / 1048576)} MB = ${fmt(kb, 2)} KB/socket (heap ${fmt(heapKb, 2)} KB)` +
            `; young generation ${fmt(before.young / 1048576, 1)} → ${fmt(after.young / 1048576, 1)} MB`,
        );
        await closeSockets(child);
      } finally {
        await down(server);
      }
    }
  }
  const svc = median(per.service);
  const plain = median(per.plain);
  figures.push({
    scenario: 3,
    figure: `RSS per idle authenticated socket, KB (${count.toLocaleString('en-US')} sockets)`,
    service: fmt(svc, 2),
    baseline: `plain Socket.IO ${fmt(plain, 2)}`,
    ratio: `${fmt(ratio(svc, plain), 2)}×`,
    target: `≤ ${RSS_TARGET_KB} KB`,
    holds: holds(Number.isFinite(svc) ? svc <= RSS_TARGET_KB : undefined),
  });
  notes.push(`3. JS heap per idle socket (after GC): service ${fmt(median(heap.service), 2)} KB, plain Socket.IO ${fmt(median(heap.plain), 2)} KB`);
  chart.push({ label: `3. RSS per idle socket (${count.toLocaleString('en-US')})`, value: svc, unit: 'KB', target: RSS_TARGET_KB, direction: 'max', baseline: plain, baselineLabel: 'plain Socket.IO' });
  json.memory = { sockets: count, kbPerSocket: per, heapKbPerSocket: heap, medians: { service: svc, plain } };
}

// ---------------------------------------------------------------- 4. fan-out

interface BurstResult {
  locks: number;
  missing: number;
  incomplete: number;
  p50: number;
  p99: number;
  max: number;
  updatesPerSecondPerCategory: number;
  /** Ack → last member, ms, one per lock (pooled over the rounds for the table's percentiles). */
  latencies: number[];
  /** CPU per update delivered to one member (µs), burst and its drain: the server, and the members' process. */
  serverUsPerFrame: number;
  watchersUsPerFrame: number;
}

/** Refused or unanswered requests of a fan-out run, by code (they are never counted as work). */
class FailureTally {
  count = 0;
  readonly codes: Record<string, number> = {};

  add(code: unknown): void {
    this.count++;
    const key = typeof code === 'string' ? code : 'UNKNOWN';
    this.codes[key] = (this.codes[key] ?? 0) + 1;
  }
}

/** The members' updates per category, lowest version first. */
function byCategoryInVersionOrder(updates: UpdateSeen[]): Map<string, UpdateSeen[]> {
  const byCategory = new Map<string, UpdateSeen[]>();
  for (const update of updates) {
    const list = byCategory.get(update.categoryId) ?? [];
    list.push(update);
    byCategory.set(update.categoryId, list);
  }
  for (const list of byCategory.values()) list.sort((a, b) => a.version - b.version);
  return byCategory;
}

/**
 * For each answered change, the first update carrying it (its version or a later one): the time
 * from the answer to the last member that got it, and the changes no update (or not every member) saw.
 */
function deliveries(
  acks: Array<{ category: string; version: number; at: number }>,
  byCategory: Map<string, UpdateSeen[]>,
  members: number,
): { latencies: number[]; missing: number; incomplete: number } {
  const latencies: number[] = [];
  let missing = 0;
  let incomplete = 0;
  for (const ack of acks) {
    const match = (byCategory.get(ack.category) ?? []).find((u) => u.version >= ack.version);
    if (!match) {
      missing++;
      continue;
    }
    if (match.count < members) incomplete++;
    latencies.push(match.last - ack.at);
  }
  return { latencies, missing, incomplete };
}

async function burst(server: Server, watchers: Child, members: number, round: number): Promise<BurstResult> {
  // One serial locker per category (lock, then unlock, as fast as acks come back): every change of
  // the category is its own, so the version each lock produced is known exactly.
  const lockers = await Promise.all(
    FAN_CATEGORIES.map((_, i) => LiteSocket.connect({ url: server.url, token: signHs256({ sub: `s4-locker-${i}-r${round}` }, ctx.secret) })),
  );
  const startVersions: number[] = [];
  for (const [i, locker] of lockers.entries()) {
    const joined = await locker.request<{ availability: Array<{ categoryId: string; version: number }> }>('join-event-room', { eventId: EVENT_ID });
    startVersions.push(joined.availability.find((a) => String(a.categoryId) === FAN_CATEGORIES[i])?.version ?? 0);
    await locker.request('leave-event-room', { eventId: EVENT_ID });
  }
  await watchers.ask({ cmd: 'report' }, (m) => 'updates' in m);
  const serverCpu = cpuMsOf(server.child.proc.pid);
  const watchersCpu = cpuMsOf(watchers.proc.pid);
  const acks: Array<{ category: string; version: number; at: number }> = [];
  const failures = new FailureTally();
  const start = wallNow();
  const end = start + flags.burstMs;
  await Promise.all(
    lockers.map(async (locker, i) => {
      const category = FAN_CATEGORIES[i] ?? '';
      let version = startVersions[i] ?? 0;
      while (wallNow() < end) {
        const lock = await locker.request<{ success: boolean; lockId?: string; code?: string }>('lock-tickets', { eventId: EVENT_ID, categoryId: category, quantity: 1 });
        const at = wallNow();
        if (!lock.success) {
          failures.add(lock.code);
          continue;
        }
        version++;
        acks.push({ category, version, at });
        const unlock = await locker.request<{ success: boolean; code?: string }>('unlock-tickets', { lockId: lock.lockId });
        if (unlock.success) version++;
        else failures.add(unlock.code);
      }
    }),
  );
  const burstEnd = wallNow();
  refused(`4. fan-out ${server.name} round ${round}`, failures.count, failures.codes);
  await sleep(1000);
  const { updates } = await watchers.ask<{ updates: UpdateSeen[] }>({ cmd: 'report' }, (m) => 'updates' in m, 60_000);
  const frames = Math.max(1, updates.reduce((sum, u) => sum + u.count, 0));
  const serverUsPerFrame = ((cpuMsOf(server.child.proc.pid) - serverCpu) * 1000) / frames;
  const watchersUsPerFrame = ((cpuMsOf(watchers.proc.pid) - watchersCpu) * 1000) / frames;
  for (const locker of lockers) locker.close();
  const byCategory = byCategoryInVersionOrder(updates);
  const { latencies, missing, incomplete } = deliveries(acks, byCategory, members);
  const sorted = sortedCopy(latencies);
  const seconds = (burstEnd - start) / 1000;
  const perCategory = FAN_CATEGORIES.map((c) => (byCategory.get(c) ?? []).filter((u) => u.first >= start && u.first <= burstEnd + 150).length / seconds);
  return {
    locks: acks.length,
    missing,
    incomplete,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    updatesPerSecondPerCategory: median(perCategory),
    latencies,
    serverUsPerFrame,
    watchersUsPerFrame,
  };
}

/** Pause between two changes in the isolated fan-out: longer than the coalescing interval and than one delivery. */
const ISOLATED_GAP_MS = 500;

/**
 * One change at a time: lock, pause, unlock, pause, alternating the two categories, so every update
 * goes out at once (no coalescing delay) and no update waits behind another one's delivery. This is
 * the fan-out latency itself; `burst` measures the same room under continuous changes.
 */
async function isolated(server: Server, watchers: Child, members: number, round: number, changes: number): Promise<{ latencies: number[]; missing: number; incomplete: number }> {
  const locker = await LiteSocket.connect({ url: server.url, token: signHs256({ sub: `s4-isolated-r${round}` }, ctx.secret) });
  const versions = new Map<string, number>();
  const joined = await locker.request<{ availability: Array<{ categoryId: string; version: number }> }>('join-event-room', { eventId: EVENT_ID });
  for (const a of joined.availability) versions.set(String(a.categoryId), a.version);
  await locker.request('leave-event-room', { eventId: EVENT_ID });
  await watchers.ask({ cmd: 'report' }, (m) => 'updates' in m);
  const acks: Array<{ category: string; version: number; at: number }> = [];
  const failures = new FailureTally();
  for (let i = 0; acks.length < changes && failures.count === 0; i++) {
    const category = FAN_CATEGORIES[i % FAN_CATEGORIES.length] ?? '';
    const lock = await locker.request<{ success: boolean; lockId?: string; code?: string }>('lock-tickets', { eventId: EVENT_ID, categoryId: category, quantity: 1 });
    if (!lock.success) {
      failures.add(lock.code);
      break;
    }
    let version = (versions.get(category) ?? 0) + 1;
    acks.push({ category, version, at: wallNow() });
    await sleep(ISOLATED_GAP_MS);
    const unlock = await locker.request<{ success: boolean; code?: string }>('unlock-tickets', { lockId: lock.lockId });
    if (!unlock.success) {
      failures.add(unlock.code);
      break;
    }
    version++;
    acks.push({ category, version, at: wallNow() });
    versions.set(category, version);
    await sleep(ISOLATED_GAP_MS);
  }
  locker.close();
  refused(`4. isolated fan-out ${server.name} round ${round}`, failures.count, failures.codes);
  await sleep(500);
  const { updates } = await watchers.ask<{ updates: UpdateSeen[] }>({ cmd: 'report' }, (m) => 'updates' in m, 60_000);
  return deliveries(acks, byCategoryInVersionOrder(updates), members);
}

async function scenario4(): Promise<void> {
  const members = flags.members;
  const results: { contract: BurstResult[]; service: BurstResult[] } = { contract: [], service: [] };
  const single: Record<'contract' | 'service', { latencies: number[]; missing: number; incomplete: number }> = {
    contract: { latencies: [], missing: 0, incomplete: 0 },
    service: { latencies: [], missing: 0, incomplete: 0 },
  };
  const changes = flags.quick ? 8 : 16;
  const targets: Array<['contract' | 'service', Server, Child]> = [];
  const baselineKind = ctx.amqpUrl ? 'contract' : 'lua';
  const floor = await up(startReference(ctx, baselineKind, 'fan-floor'));
  const service = await up(startService(ctx, { name: 'fan-svc' }));
  for (const [key, server] of [['contract', floor], ['service', service]] as const) {
    const { child, connectMs } = await socketsProcess(server.url, members, `s4-${key}`, EVENT_ID);
    log(`4. ${members} members joined to ${server.name} in ${(connectMs / 1000).toFixed(1)} s`);
    targets.push([key, server, child]);
  }
  try {
    for (let round = 1; round <= flags.rounds; round++) {
      for (const [key, server, watchers] of targets) {
        const one = await isolated(server, watchers, members, round, changes);
        single[key].latencies.push(...one.latencies);
        single[key].missing += one.missing;
        single[key].incomplete += one.incomplete;
        const sortedOne = sortedCopy(one.latencies);
        log(
          `4. round ${round} ${key.padEnd(8)} ${one.latencies.length} isolated changes: change→last member p50 ${fmt(percentile(sortedOne, 50))} ms p99 ${fmt(percentile(sortedOne, 99))} ms` +
            `${one.missing ? `, ${one.missing} without update` : ''}${one.incomplete ? `, ${one.incomplete} not at every member` : ''}`,
        );
        const result = await burst(server, watchers, members, round);
        results[key].push(result);
        log(
          `4. round ${round} ${key.padEnd(8)} ${result.locks} locks: ack→last member p50 ${fmt(result.p50)} ms p99 ${fmt(result.p99)} ms max ${fmt(result.max)} ms, ` +
            `${fmt(result.updatesPerSecondPerCategory)} updates/s/category, CPU per member-update: server ${fmt(result.serverUsPerFrame, 1)} µs, members' process ${fmt(result.watchersUsPerFrame, 1)} µs${result.missing ? `, ${result.missing} without update` : ''}${result.incomplete ? `, ${result.incomplete} not at every member` : ''}`,
        );
      }
    }
  } finally {
    for (const [, server, watchers] of targets) {
      await closeSockets(watchers);
      await down(server);
    }
  }
  // A serial locker gets few locks through while thousands of sockets are written to: pool every
  // round's locks for the percentiles rather than take medians of small per-round samples.
  const summary = (list: BurstResult[]): { p50: number; p99: number; updates: number } => {
    const pooled = sortedCopy(list.flatMap((r) => r.latencies));
    return { p50: percentile(pooled, 50), p99: percentile(pooled, 99), updates: medianOf(list, 'updatesPerSecondPerCategory') };
  };
  const svc = summary(results.service);
  const base = summary(results.contract);
  const floorName = baselineKind === 'contract' ? 'contract floor' : 'Lua floor (no RabbitMQ)';
  const oneSvc = sortedCopy(single.service.latencies);
  const oneBase = sortedCopy(single.contract.latencies);
  const oneP99 = percentile(oneSvc, 99);
  const oneLost = single.service.missing + single.service.incomplete;
  figures.push(
    {
      scenario: 4,
      figure: `fan-out of one change → last of ${members.toLocaleString('en-US')} members, p99 ms (${oneSvc.length} changes, ${ISOLATED_GAP_MS} ms apart)`,
      service: fmt(oneP99),
      baseline: `${floorName} ${fmt(percentile(oneBase, 99))}`,
      ratio: `${fmt(ratio(oneP99, percentile(oneBase, 99)), 2)}×`,
      target: '≤ 250 ms',
      holds: holds(Number.isFinite(oneP99) && oneLost === 0 ? oneP99 <= 250 : undefined),
    },
    {
      scenario: 4,
      figure: 'fan-out of one change → last member, p50 ms',
      service: fmt(percentile(oneSvc, 50)),
      baseline: `${floorName} ${fmt(percentile(oneBase, 50))}`,
      ratio: `${fmt(ratio(percentile(oneSvc, 50), percentile(oneBase, 50)), 2)}×`,
      target: '–',
      holds: '–',
    },
    {
      scenario: 4,
      figure: `fan-out under continuous changes (two lockers flat out), ack → last member, p99 ms (${results.service.reduce((a, r) => a + r.latencies.length, 0)} locks)`,
      service: fmt(svc.p99),
      baseline: `${floorName} ${fmt(base.p99)}`,
      ratio: `${fmt(ratio(svc.p99, base.p99), 2)}×`,
      target: '(report)',
      holds: '–',
    },
    {
      scenario: 4,
      figure: 'fan-out under continuous changes, ack → last member, p50 ms',
      service: fmt(svc.p50),
      baseline: `${floorName} ${fmt(base.p50)}`,
      ratio: `${fmt(ratio(svc.p50, base.p50), 2)}×`,
      target: '–',
      holds: '–',
    },
    {
      scenario: 4,
      figure: 'availability-updates/s per category (coalesced, 100 ms)',
      service: fmt(svc.updates),
      baseline: `${floorName} ${fmt(base.updates)}`,
      ratio: `${fmt(ratio(svc.updates, base.updates), 2)}×`,
      target: '≤ 10',
      holds: '–',
    },
  );
  const lost = results.service.reduce((a, r) => a + r.missing + r.incomplete, 0);
  const perFrame = (list: BurstResult[], key: 'serverUsPerFrame' | 'watchersUsPerFrame'): number => medianOf(list, key);
  const svcFrame = perFrame(results.service, 'serverUsPerFrame');
  const floorFrame = perFrame(results.contract, 'serverUsPerFrame');
  figures.push({
    scenario: 4,
    figure: 'server CPU per update delivered to one member, µs',
    service: fmt(svcFrame, 1),
    baseline: `${floorName} ${fmt(floorFrame, 1)}`,
    ratio: `${fmt(ratio(svcFrame, floorFrame), 2)}×`,
    target: '(report)',
    holds: '–',
  });
  notes.push(
    `4. CPU per update delivered to one member: service ${fmt(svcFrame, 1)} µs, ${floorName} ${fmt(floorFrame, 1)} µs, the members' load process ${fmt(median([...results.service, ...results.contract].map((r) => r.watchersUsPerFrame)), 1)} µs; ` +
      `so one update to all ${members.toLocaleString('en-US')} members costs the service about ${fmt((svcFrame * members) / 1000, 0)} ms of CPU`,
  );
  notes.push(
    `4. isolated changes whose update did not reach every member: ${oneLost}; under continuous changes the service is saturated by the writes ` +
      `(${fmt((svcFrame * members) / 1000, 0)} ms of CPU per update to all members, ${fmt(svc.updates * FAN_CATEGORIES.length, 1)} updates/s), so updates queue behind each other and the coalescing interval`,
  );
  notes.push(`4. locks per burst (service, median): ${fmt(medianOf(results.service, 'locks'), 0)} over ${FAN_CATEGORIES.length} categories in ${flags.burstMs / 1000} s; locks whose update did not reach every member: ${lost}`);
  chart.push({ label: `4. fan-out p99, ${members.toLocaleString('en-US')} members`, value: oneP99, unit: 'ms', target: 250, direction: 'max', baseline: percentile(oneBase, 99), baselineLabel: floorName });
  json.fanout = { members, categories: FAN_CATEGORIES, burstMs: flags.burstMs, isolatedGapMs: ISOLATED_GAP_MS, isolated: single, results };
}

// ---------------------------------------------------------------- 5. two instances vs one

async function scenario5(): Promise<void> {
  const forced = process.env.BENCH_MULTI_INSTANCE;
  const detected = serviceHasClusterAdapter();
  const notMeasured = (why: string): void => {
    figures.push({ scenario: 5, figure: 'two instances vs one, pairs/s', service: why, baseline: '', ratio: '', target: '(report)', holds: '–' });
    json.multiInstance = { status: why };
  };
  if (forced === '0' || (forced !== '1' && !detected)) {
    notMeasured(forced === '0' ? 'skipped (BENCH_MULTI_INSTANCE=0)' : 'n/a (multi-instance adapter not built yet)');
    return;
  }
  const prefix = `bench-${runId}-multi`;
  const a = await up(startService(ctx, { name: 'multi-a', prefix }));
  const b = await up(startService(ctx, { name: 'multi-b', prefix }));
  try {
    // Does a change on A reach a room member on B? (Without a cluster adapter it cannot.)
    let crossed = false;
    const watcher = await LiteSocket.connect({
      url: b.url,
      token: signHs256({ sub: 's5-watcher' }, ctx.secret),
      filter: (raw) => raw.includes('"availability-update"'),
      onEvent: () => {
        crossed = true;
      },
    });
    await watcher.request('join-event-room', { eventId: EVENT_ID });
    const locker = await LiteSocket.connect({ url: a.url, token: signHs256({ sub: 's5-locker' }, ctx.secret) });
    const lock = await locker.request<{ success: boolean; lockId?: string; code?: string }>('lock-tickets', { eventId: EVENT_ID, categoryId: HOT, quantity: 1 });
    const unlock = lock.success ? await locker.request<{ success: boolean; code?: string }>('unlock-tickets', { lockId: lock.lockId }) : lock;
    if (!unlock.success) refused('5. probe', 1, { [unlock.code ?? 'UNKNOWN']: 1 });
    for (let i = 0; i < 20 && !crossed; i++) await sleep(100);
    watcher.close();
    locker.close();
    if (!crossed) {
      notMeasured('n/a (an update on instance A did not reach a room member on instance B)');
      return;
    }
    const one: ClosedLoopResult[] = [];
    const two: ClosedLoopResult[] = [];
    for (let round = 1; round <= flags.rounds; round++) {
      one.push(await closedLoop([a.url], { clients: flags.clients, durationMs: flags.durationMs, userPrefix: `s5-one-r${round}` }));
      two.push(await closedLoop([a.url, b.url], { clients: flags.clients, durationMs: flags.durationMs, userPrefix: `s5-two-r${round}` }));
      log(`5. round ${round}: one instance ${fmt(one.at(-1)?.pairsPerSecond ?? Number.NaN, 0)} pairs/s, two ${fmt(two.at(-1)?.pairsPerSecond ?? Number.NaN, 0)} pairs/s`);
    }
    const r = pairedRatio(two, one, 'pairsPerSecond');
    figures.push(
      {
        scenario: 5,
        figure: `two instances vs one, pairs/s (${flags.clients} clients split)`,
        service: fmt(medianOf(two, 'pairsPerSecond'), 0),
        baseline: `one instance ${fmt(medianOf(one, 'pairsPerSecond'), 0)}`,
        ratio: `${fmt(r, 2)}×`,
        target: '(report)',
        holds: '–',
      },
      {
        scenario: 5,
        figure: 'two instances vs one, p99 ms',
        service: fmt(medianOf(two, 'p99'), 2),
        baseline: `one instance ${fmt(medianOf(one, 'p99'), 2)}`,
        ratio: `${fmt(pairedRatio(two, one, 'p99'), 2)}×`,
        target: '(report)',
        holds: '–',
      },
    );
    notes.push('5. two cores host both instances, Redis, RabbitMQ and the load generator: a second instance competes for the same CPU, so ≈1× is the expected ceiling here, not scale-out');
    chart.push({ label: '5. two instances vs one (throughput)', value: r, unit: '×', baseline: 1, baselineLabel: 'one instance' });
    json.multiInstance = { status: 'measured', one, two, ratio: r };
  } finally {
    await down(b);
    await down(a);
  }
}

// ---------------------------------------------------------------- 6. seats, 7. waiting room

/**
 * Runs one of the feature benches (bench/seats.ts, bench/waiting-room.ts) as a child on this run's
 * Redis and reads the JSON it leaves in bench/results; a failing child fails the run.
 */
function featureBench<T>(script: string, result: string, args: string[] = [], env: Record<string, string> = {}): T {
  const file = path.join(RESULTS_DIR, result);
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(BENCH_DIR, script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, BENCH_REDIS_URL: ctx.redisUrl, ...env },
  });
  if (child.status !== 0) throw new Error(`bench/${script} failed (exit ${child.status ?? child.signal})`);
  const written = JSON.parse(readFileSync(file, 'utf8')) as T & { at: string };
  if (Date.parse(written.at) < started) throw new Error(`bench/${script} did not write ${result}`);
  return written;
}

interface SeatsResult {
  pairs: { seatPairsPerSecond: number; quantityPairsPerSecond: number; ratio: number; rounds: number; workers: number };
  commandsPerSeatOperation: { perOperation: number };
  seatMap60k: { msMedian: number; redisScriptMsMedian: number; jsonBytes: number };
  redisMemory: { perSeat: number };
  seatUpdate10: { jsonBytes: number; socketIoFrameBytes: number };
}

function scenario6(): void {
  log('6. reserved seating (bench/seats.ts, against the Redis lock store)');
  const r = featureBench<SeatsResult>('seats.ts', 'seats-latest.json', [], { BENCH_ROUNDS: String(Math.max(3, flags.rounds)) });
  figures.push(
    {
      scenario: 6,
      figure: `hold/release pairs of 2 seats vs lock/unlock pairs of quantity 2, pairs/s (store, ${r.pairs.workers} in flight)`,
      service: fmt(r.pairs.seatPairsPerSecond),
      baseline: `quantity 2: ${fmt(r.pairs.quantityPairsPerSecond)}`,
      ratio: `${fmt(r.pairs.ratio, 2)}×`,
      target: '≥ 0.8×',
      holds: holds(r.pairs.ratio >= 0.8),
    },
    {
      scenario: 6,
      figure: 'Redis round trips per seat hold or release',
      service: fmt(r.commandsPerSeatOperation.perOperation, 2),
      baseline: '1',
      ratio: `${fmt(r.commandsPerSeatOperation.perOperation, 2)}×`,
      target: '1',
      holds: holds(r.commandsPerSeatOperation.perOperation <= 1),
    },
    {
      scenario: 6,
      figure: 'get-seat-map of a 60,000-seat event (10 % held): server ms / KiB of JSON',
      service: `${fmt(r.seatMap60k.msMedian, 1)} ms / ${fmt(r.seatMap60k.jsonBytes / 1024, 0)} KiB`,
      baseline: `Redis script ${fmt(r.seatMap60k.redisScriptMsMedian, 1)} ms`,
      ratio: '–',
      target: '(report)',
      holds: '–',
    },
    { scenario: 6, figure: 'Redis memory per seat, bytes', service: fmt(r.redisMemory.perSeat, 1), baseline: '', ratio: '–', target: '(report)', holds: '–' },
    {
      scenario: 6,
      figure: 'seat-update of a 10-seat hold, bytes (JSON / Socket.IO frame)',
      service: `${r.seatUpdate10.jsonBytes} / ${r.seatUpdate10.socketIoFrameBytes}`,
      baseline: '',
      ratio: '–',
      target: '(report)',
      holds: '–',
    },
  );
  chart.push({ label: '6. seat pairs vs quantity pairs', value: r.pairs.ratio, unit: '×', target: 0.8, direction: 'min', baseline: 1, baselineLabel: 'quantity 2' });
  json.seats = r;
}

interface WaitingRoomResult {
  joins: { users: number; joinsPerSecond: number; joinsPerSecondAt90kTo100k: number; redisBytesPerQueuedUser: number };
  lock: { medianLocksPerSecondRoomOff: number; medianLocksPerSecondRoomOn: number; ratioOfMedians: number; medianPairedRatio: number };
  fanout: { sockets: number; updates: number; deliveries: number; p50Ms: number; p99Ms: number; maxMs: number };
}

function scenario7(): void {
  log('7. waiting room (bench/waiting-room.ts: the store, then the built service with waiting sockets)');
  const env: Record<string, string> = flags.quick ? { BENCH_FANOUT_SOCKETS: String(flags.members) } : {};
  const r = featureBench<WaitingRoomResult>('waiting-room.ts', 'waiting-room-latest.json', [], env);
  figures.push(
    {
      scenario: 7,
      figure: `joins/s into a queue growing to ${r.joins.users.toLocaleString('en-US')} (store); at 90-100k`,
      service: `${fmt(r.joins.joinsPerSecond)}; ${fmt(r.joins.joinsPerSecondAt90kTo100k)}`,
      baseline: '',
      ratio: '–',
      target: '(report)',
      holds: '–',
    },
    { scenario: 7, figure: 'Redis bytes per queued user', service: fmt(r.joins.redisBytesPerQueuedUser), baseline: '', ratio: '–', target: '(report)', holds: '–' },
    {
      scenario: 7,
      // Rounds alternate off-on / on-off: the median of each on round over its neighbouring off round
      // (as scenario 1 pairs its rounds) cancels the machine's drift; the ratio of medians is shown too.
      figure: 'locks/s with the waiting room on (all admitted) vs off (store), median of paired rounds',
      service: fmt(r.lock.medianLocksPerSecondRoomOn),
      baseline: `off ${fmt(r.lock.medianLocksPerSecondRoomOff)} (ratio of medians ${fmt(r.lock.ratioOfMedians, 2)}×)`,
      ratio: `${fmt(r.lock.medianPairedRatio, 2)}×`,
      target: '≥ 0.9×',
      holds: holds(r.lock.medianPairedRatio >= 0.9),
    },
    {
      scenario: 7,
      figure: `queue-update fan-out to ${r.fanout.sockets.toLocaleString('en-US')} waiting sockets, tick → socket p99 ms (${r.fanout.deliveries.toLocaleString('en-US')} deliveries)`,
      service: fmt(r.fanout.p99Ms),
      baseline: `p50 ${fmt(r.fanout.p50Ms)}, max ${fmt(r.fanout.maxMs)}`,
      ratio: '–',
      target: '≤ 250 ms',
      holds: holds(r.fanout.deliveries === r.fanout.sockets * r.fanout.updates ? r.fanout.p99Ms <= 250 : undefined),
    },
  );
  chart.push({ label: '7. waiting room on vs off, locks/s', value: r.lock.medianPairedRatio, unit: '×', target: 0.9, direction: 'min', baseline: 1, baselineLabel: 'room off' });
  chart.push({ label: `7. queue-update fan-out p99, ${r.fanout.sockets.toLocaleString('en-US')}`, value: r.fanout.p99Ms, unit: 'ms', target: 250, direction: 'max' });
  json.waitingRoom = r;
}

// ---------------------------------------------------------------- profile

/** A CPU profile of a server under scenario 1's load (the service, and the contract floor to compare with). */
async function profileServer(server: Server, name: 'service' | 'contract'): Promise<void> {
  const dir = path.join(RESULTS_DIR, 'profiles');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${runId}.cpuprofile`);
  const result = await closedLoop([server.url], { clients: flags.clients, durationMs: flags.durationMs, userPrefix: `profile-${name}`, server }, async () => {
    await profileStart(server.child);
  });
  await profileStop(server.child, file);
  const summary = summarise(JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof summarise>[0], 20);
  const profiles = (json.profile ?? {}) as Record<string, unknown>;
  profiles[name] = { file: path.relative(ROOT, file), summary, pairs: result.totalPairs, pairsPerSecond: result.pairsPerSecond, cpu: result.cpu };
  json.profile = profiles;
  log(
    `CPU profile of the ${name === 'service' ? 'service' : 'contract floor'} under scenario 1 load (${result.totalPairs} pairs, ${fmt(result.pairsPerSecond)} pairs/s, ` +
      `${fmt(result.cpu.serverUsPerPair, 0)} µs of server CPU per pair, profiler included): ${path.relative(ROOT, file)}\n${formatSummary(summary)}`,
  );
}

// ---------------------------------------------------------------- output

function printTable(): string {
  const header = ['#', 'Figure', 'Service', 'Baseline (same run)', 'Ratio', 'Target', 'Holds'];
  const rows = figures.map((f) => [String(f.scenario), f.figure, f.service, f.baseline, f.ratio, f.target, f.holds]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function cleanup(): Promise<void> {
  for (const child of children.splice(0)) await stopChild(child, 2000).catch(() => undefined);
  for (const server of live.splice(0)) await stopServer(server).catch(() => undefined);
  const deleted = await cleanRedis(ctx.redisUrl, runId).catch(() => 0);
  if (orders) await orders.cleanup([...exchanges], [...queues]).catch(() => undefined);
  log(`cleaned up: ${deleted} Redis keys, ${exchanges.size} exchanges, ${queues.size + (orders ? 1 : 0)} queues`);
}

async function main(): Promise<void> {
  const started = Date.now();
  if (flags.build || !existsSync(SERVICE_MAIN)) {
    log('npm run build');
    execSync('npm run build', { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!(await redisPing(ctx.redisUrl))) throw new Error(`Redis does not answer at ${ctx.redisUrl} (set BENCH_REDIS_URL)`);
  if (ctx.amqpUrl && !(await amqpReachable(ctx.amqpUrl))) {
    log(`RabbitMQ does not answer at ${ctx.amqpUrl}: the contract floor and the service's RabbitMQ side are left out`);
    ctx.amqpUrl = undefined;
  }
  writeFileSync(ctx.catalogFile, JSON.stringify({ events: ctx.events }));
  if (ctx.amqpUrl) orders = await OrdersQueue.create(ctx.amqpUrl, `bench.${runId}.orders`);
  log(`run ${runId}: ${flags.quick ? 'quick' : 'full'}, ${flags.rounds} rounds, scenarios ${[...flags.only].join(',')}`);
  await findBackendPids();

  if (flags.only.has(1) || flags.only.has(2)) {
    const lua = await up(startReference(ctx, 'lua', 'lua-floor'));
    const contract = ctx.amqpUrl ? await up(startReference(ctx, 'contract', 'contract-floor')) : undefined;
    const publishOnly = ctx.amqpUrl && flags.only.has(1) ? await up(startReference(ctx, 'publish-only', 'publish-only-floor')) : undefined;
    const service = await up(startService(ctx, { name: 'svc' }));
    if (flags.only.has(1)) {
      report1(await scenario1(lua, contract, publishOnly, service));
      if (flags.profile) {
        await profileServer(service, 'service');
        if (contract) await profileServer(contract, 'contract');
      }
    }
    await down(lua);
    if (contract) await down(contract);
    if (publishOnly) await down(publishOnly);
    if (flags.only.has(2)) await scenario2(service);
    await down(service);
  }
  if (flags.only.has(3)) await scenario3();
  if (flags.only.has(4)) await scenario4();
  if (flags.only.has(5)) await scenario5();
  if (flags.only.has(6)) scenario6();
  if (flags.only.has(7)) scenario7();

  const table = printTable();
  const minutes = (Date.now() - started) / 60000;
  const subtitle = `${new Date().toISOString().slice(0, 16)}Z · ${flags.quick ? 'quick' : 'full'} · ${flags.rounds} rounds (medians, A/B alternated) · node ${process.version} · ${minutes.toFixed(1)} min`;
  console.log(`\nBenchmark ${runId} — ${subtitle}\n\n${table}\n`);
  for (const note of notes) console.log(`- ${note}`);
  console.log(refusals.length === 0 ? '- every request of every load window was answered with success' : `- FAILED: ${refusals.join('; ')}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const output = { runId, date: new Date().toISOString(), node: process.version, flags: { ...flags, only: [...flags.only] }, table: figures, notes, refusals, ...json };
  const svg = renderChart('Realtime ticket-lock service — bench', subtitle, chart);
  for (const name of [stamp, 'latest']) {
    writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(output, null, 2)}\n`);
    writeFileSync(path.join(RESULTS_DIR, `${name}.svg`), `${svg}\n`);
  }
  console.log(`\nwritten: bench/results/${stamp}.json, bench/results/${stamp}.svg (and latest.*)`);
  if (refusals.length > 0) {
    throw new Error(`${refusals.length} load window(s) had refused or unanswered requests (none of them counted as throughput):\n  ${refusals.join('\n  ')}`);
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(cleanup)
  .then(() => process.exit(0))
  .catch(async (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanup();
    process.exit(1);
  });
