import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';
import type { LockStore } from '#lock-domain';
import { TEST_REDIS_URL, uniqueName } from '../../../../test/support/services.js';
import { InProcessLockStore } from '../memory/in-process-lock-store.js';
import { RedisLockStore } from '../redis/redis-lock-store.js';
import {
  CATEGORIES,
  EVENT_ID,
  MODEL_POLICY,
  USERS,
  command,
  createdLock,
  invocation,
  lockIdFor,
  lockRef,
  outcomeOf,
  type Command,
  type Created,
  type Mutation,
  type Outcome,
} from './commands.js';

/**
 * Model-based differential test: random command sequences run against the Redis store (the Lua) and
 * the in-process store from the same seed, on one clock, comparing every reply, refusal, the
 * availability and the stats after each step, and every lock, user and event at the end.
 *
 * The in-process store is the model: it states each rule once in plain TypeScript, runs
 * synchronously on an injected clock and costs nothing to rebuild, while the Lua keeps the same
 * rules spread over indexes (ZSETs, max-ZSETs, per-user hashes, request keys) that can drift.
 * Both stores take the test clock (`clock` option; the scripts then read ARGV[8] instead of
 * Redis TIME) and the same lock ids (`newLockId`), so replies compare byte for byte.
 *
 * MODEL_RUNS (default 300) sets the number of sequences; MODEL_SEED (and MODEL_PATH) replay a failure:
 * fast-check prints the seed, the path and the shrunk sequence.
 */
const RUNS = Number(process.env.MODEL_RUNS ?? 300);
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const PATH = process.env.MODEL_PATH;
/** MODEL_STATS=1 prints how often each operation met each outcome (what the sequences exercised). */
const tally = process.env.MODEL_STATS === '1' ? new Map<string, number>() : undefined;
/** A fixed instant, so a seed replays the same timestamps. */
const START = 1_800_000_000_000;

const stem = uniqueName('tl-model');
const connections = [new Redis(TEST_REDIS_URL), new Redis(TEST_REDIS_URL)] as const;
let runs = 0;

afterAll(async () => {
  const [admin] = connections;
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `{${stem}-*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
  await Promise.all(connections.map((c) => c.quit()));
  if (tally) console.log([...tally].sort().map(([key, n]) => `${key}: ${n}`).join('\n'));
});

/** JSON form: both stores answer plain data; `undefined` fields are not data. */
const plain = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const same = (a: unknown, b: unknown) => isDeepStrictEqual(plain(a), plain(b));
const show = (value: unknown) => JSON.stringify(value, null, 1);

interface Done {
  op: Mutation['op'];
  now: number;
  lockId: string;
  run: (store: LockStore) => Promise<unknown>;
}

/** One sequence: the model, the Redis store on two connections (for concurrent pairs), one clock. */
class Twin {
  now = START;
  /** What the next `lock` call takes as its id (both stores read it synchronously, at invocation). */
  private nextId = '';
  /** Locks created so far, in command order: what lock references pick from. */
  private readonly ids: Created[] = [];
  /** Every mutation applied, for rebuilding the model in the other order of a concurrent pair. */
  private readonly history: Done[] = [];
  private model!: LockStore;
  private redis!: [RedisLockStore, RedisLockStore];

  static async open(): Promise<Twin> {
    const twin = new Twin();
    const keyPrefix = `${stem}-${++runs}`;
    const options = { policy: MODEL_POLICY, keyPrefix, clock: () => twin.now, newLockId: () => twin.nextId };
    twin.redis = [new RedisLockStore({ ...options, redis: connections[0] }), new RedisLockStore({ ...options, redis: connections[1] })];
    twin.model = await twin.newModel();
    await twin.redis[0].defineEvent({ id: EVENT_ID, categories: [...CATEGORIES] }, { replaceTotals: false });
    return twin;
  }

  async close(): Promise<void> {
    await Promise.all([this.model.close(), ...this.redis.map((store) => store.close())]);
  }

  async step(cmd: Command, step: number): Promise<void> {
    const where = `step ${step} ${show(cmd)} at now=${this.now}`;
    switch (cmd.op) {
      case 'tick':
        this.now += cmd.ms;
        return;
      case 'toExpiry': {
        const lock = (await this.model.get(lockRef(this.ids, cmd.lock).lockId)).value;
        if (lock && lock.expiresAt + cmd.delta > this.now) this.now = lock.expiresAt + cmd.delta;
        return;
      }
      case 'read': {
        const { lockId } = lockRef(this.ids, cmd.lock);
        const userId = USERS[cmd.user] ?? 'u1';
        await this.compare(where, (store) => store.get(lockId));
        await this.compare(where, (store) => store.activeLocks(userId));
        return;
      }
      case 'pair':
        await this.pair(where, cmd.a, cmd.b, step);
        break;
      default:
        await this.single(where, cmd, step);
    }
    await this.compare(`${where}, then availability`, (store) => store.availability(EVENT_ID));
    await this.compare(`${where}, then stats`, (store) => store.stats());
  }

  /** The whole state at the end: every lock ever created, every user's active locks, the catalog. */
  async finalCheck(): Promise<void> {
    for (const { lockId } of this.ids) await this.compare(`end: get ${lockId}`, (store) => store.get(lockId));
    for (const userId of USERS) await this.compare(`end: activeLocks ${userId}`, (store) => store.activeLocks(userId));
    await this.compare('end: events', (store) => store.events());
  }

  private async single(where: string, mutation: Mutation, step: number): Promise<void> {
    const done: Done = { op: mutation.op, now: this.now, lockId: lockIdFor(step, 0), run: invocation(mutation, this.ids) };
    const expected = await this.apply(this.model, done);
    const actual = await this.apply(this.redis[0], done);
    if (!same(actual, expected)) throw new Error(`${where}: Redis answered ${show(actual)}\nthe model ${show(expected)}`);
    this.record([[done, expected]]);
  }

  /**
   * Two mutations sent to Redis at once on two connections: the scripts run in some order, so the
   * replies must equal the model's in one of the two orders (the model is rebuilt for the second).
   */
  private async pair(where: string, a: Mutation, b: Mutation, step: number): Promise<void> {
    const first: Done = { op: a.op, now: this.now, lockId: lockIdFor(step, 0), run: invocation(a, this.ids) };
    const second: Done = { op: b.op, now: this.now, lockId: lockIdFor(step, 1), run: invocation(b, this.ids) };
    const racing = [this.start(this.redis[0], first), this.start(this.redis[1], second)];
    const [actualA, actualB] = await Promise.all(racing);

    const modelA = await this.apply(this.model, first);
    const modelB = await this.apply(this.model, second);
    if (same(actualA, modelA) && same(actualB, modelB)) {
      this.record([[first, modelA], [second, modelB]]);
      return;
    }
    const rebuilt = await this.newModel();
    const now = this.now;
    for (const done of this.history) await this.apply(rebuilt, done);
    this.now = now;
    const swappedB = await this.apply(rebuilt, second);
    const swappedA = await this.apply(rebuilt, first);
    if (!same(actualA, swappedA) || !same(actualB, swappedB)) {
      throw new Error(
        `${where}: Redis answered A=${show(actualA)}\nB=${show(actualB)}\n` +
          `the model, A then B: A=${show(modelA)}\nB=${show(modelB)}\nthe model, B then A: A=${show(swappedA)}\nB=${show(swappedB)}`,
      );
    }
    await this.model.close();
    this.model = rebuilt;
    this.history.push(second, first);
    this.record([[first, swappedA], [second, swappedB]], false);
  }

  /** Notes created locks (in command order) and the history; both stores agreed on `outcome`. */
  private record(applied: [Done, Outcome][], history = true): void {
    for (const [done, outcome] of applied) {
      if (history) this.history.push(done);
      const created = createdLock(outcome);
      if (created !== undefined) this.ids.push(created);
    }
  }

  private async apply(store: LockStore, done: Done): Promise<Outcome> {
    this.now = done.now;
    const outcome = await this.start(store, done);
    if (tally && store === this.model) {
      const key = `${done.op} ${outcome.ok ? 'ok' : 'code' in outcome ? outcome.code : 'fault'}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    return outcome;
  }

  /** Invokes at once (the store reads the clock and the id synchronously); settles later. */
  private start(store: LockStore, done: Done): Promise<Outcome> {
    this.nextId = done.lockId;
    return outcomeOf(() => done.run(store));
  }

  private async compare(where: string, read: (store: LockStore) => Promise<unknown>): Promise<void> {
    const expected = await outcomeOf(() => read(this.model));
    const actual = await outcomeOf(() => read(this.redis[0]));
    if (!same(actual, expected)) throw new Error(`${where}: Redis answered ${show(actual)}\nthe model ${show(expected)}`);
  }

  private async newModel(): Promise<LockStore> {
    const model = new InProcessLockStore(MODEL_POLICY, () => this.now, undefined, () => this.nextId);
    await model.defineEvent({ id: EVENT_ID, categories: [...CATEGORIES] }, { replaceTotals: false });
    return model;
  }
}

/** Disagreements the test found (shrunk), replayed first on every run. */
const REGRESSIONS: Command[][] = [
  // Locks created in one millisecond: both stores list them by lockId (the model used insertion order).
  [{ op: 'read', user: 0, lock: 0 }, { op: 'lock', user: 2, cat: 0, qty: 1, session: 0 }, { op: 'lock', user: 2, cat: 1, qty: 1, session: 0 }],
  [{ op: 'lock', user: 0, cat: 0, qty: 1, session: 0 }, { op: 'lock', user: 1, cat: 0, qty: 1, session: 0 }, { op: 'lock', user: 2, cat: 0, qty: 1, session: 0 }, { op: 'releaseSession', session: 0 }],
  [{ op: 'lock', user: 0, cat: 0, qty: 1, session: 0 }, { op: 'lock', user: 1, cat: 0, qty: 1, session: 0 }, { op: 'lock', user: 2, cat: 0, qty: 1, session: 0 }, { op: 'tick', ms: 1000 }, { op: 'sweep', limit: 1 }, { op: 'sweep', limit: 1 }],
  // LOCK_EXPIRED for a lock already recorded EXPIRED carries no changes (the model attached empty ones).
  [{ op: 'lock', user: 1, cat: 0, qty: 1, session: 0 }, { op: 'tick', ms: 2000 }, { op: 'unlockCat', user: 1, cat: 0 }, { op: 'unlock', lock: 0 }],
  // A requestId is remembered for retentionMs by the store's clock (the Lua relied on the key's TTL alone).
  [{ op: 'lock', user: 1, cat: 0, qty: 1, session: 0, rid: 1 }, { op: 'tick', ms: 20_000 }, { op: 'lock', user: 1, cat: 0, qty: 1, session: 0, rid: 1 }, { op: 'release', lock: 0 }],
];

describe('model-based: the Redis store against the in-process model', () => {
  it(`${RUNS} random sequences agree on every reply, refusal, count and stat`, { timeout: 120_000 + RUNS * 1_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 50, size: 'medium' }), async (commands) => {
        const twin = await Twin.open();
        try {
          for (const [step, cmd] of commands.entries()) await twin.step(cmd, step);
          await twin.finalCheck();
        } finally {
          await twin.close();
        }
      }),
      { numRuns: RUNS, examples: REGRESSIONS.map((commands) => [commands] as [Command[]]), ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH === undefined ? {} : { path: PATH }) },
    );
  });
});
