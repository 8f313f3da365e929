import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TEST_REDIS_URL, uniqueName } from '../../../../../test/support/services.js';
import { RedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';

const WINDOW_MS = 60_000;
/** Timers off: the tests decide when instances exchange counts (`sync()`), so every schedule is exact. */
const MANUAL = 3_600_000;

const redis = new Redis(TEST_REDIS_URL);
const prefix = uniqueName('rl-test');
const opened: RedisRateLimiter[] = [];
const connections: Redis[] = [];

/** A clock shared by the instances of a test: 1 s into window 100 unless moved. */
let now = 100 * WINDOW_MS + 1_000;

function instance(limit: number, options: Partial<RedisRateLimiterOptions> = {}): RedisRateLimiter {
  const limiter = new RedisRateLimiter({ redis, keyPrefix: prefix, limit, syncIntervalMs: MANUAL, now: () => now, ...options });
  opened.push(limiter);
  return limiter;
}

const key = (window: number, userId: string) => `{${prefix}}:rl:${window}:${userId}`;

/** Deterministic PRNG (mulberry32), so a failing schedule can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Rounds of the bound's model: in each round every instance gets `requests[i]` of the user's
 * requests, then all of them exchange counts with Redis, in `order`. Answers how many were allowed.
 */
async function rounds(limiters: RedisRateLimiter[], userId: string, schedule: Array<{ requests: number[]; order: number[] }>): Promise<number> {
  let allowed = 0;
  for (const { requests, order } of schedule) {
    requests.forEach((count, i) => {
      for (let r = 0; r < count; r += 1) if (limiters[i]?.consume(userId)) allowed += 1;
    });
    for (const i of order) await limiters[i]?.sync();
  }
  return allowed;
}

beforeAll(async () => {
  await redis.ping(); // connected before any test counts the commands it sends
});

afterEach(async () => {
  vi.restoreAllMocks();
  now = 100 * WINDOW_MS + 1_000;
  await Promise.all(opened.splice(0).map((limiter) => limiter.close()));
});

afterAll(async () => {
  const keys = await redis.keys(`{${prefix}}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  for (const connection of connections) connection.disconnect();
});

describe('RedisRateLimiter', () => {
  it('decides without Redis, then hands the counts over in one call, under {prefix}:rl:<window>:<user> with a TTL', async () => {
    const limiter = instance(5);
    const sent = vi.spyOn(redis, 'sendCommand');
    expect(Array.from({ length: 7 }, () => limiter.consume('solo'))).toEqual([true, true, true, true, true, false, false]);
    expect(sent).not.toHaveBeenCalled();

    await limiter.sync();
    expect(sent.mock.calls.map(([command]) => command.name)).toEqual([expect.stringMatching(/^eval(sha)?$/)]);
    expect(await redis.get(key(100, 'solo'))).toBe('5');
    const ttl = await redis.pttl(key(100, 'solo'));
    expect(ttl).toBeGreaterThan(2 * WINDOW_MS);
    expect(ttl).toBeLessThanOrEqual(2 * WINDOW_MS + 4 * MANUAL); // two windows + the settle time (4 sync intervals)
    expect(limiter.consume('solo')).toBe(false);
  });

  it('two instances that exchange counts between requests together allow exactly the limit', async () => {
    const [a, b] = [instance(10), instance(10)];
    let allowed = 0;
    for (let i = 0; i < 40; i += 1) {
      const [deciding, other] = i % 2 === 0 ? [a, b] : [b, a];
      if (deciding.consume('alternating')) allowed += 1;
      await deciding.sync();
      await other.sync();
    }
    expect(allowed).toBe(10);
    expect(await redis.get(key(100, 'alternating'))).toBe('10');
  });

  it('a user limited on one instance is refused at once by another one it is connected to', async () => {
    const [a, b] = [instance(10), instance(10)];
    b.track('roamer'); // the user's other tab connected to b
    for (let i = 0; i < 10; i += 1) expect(a.consume('roamer')).toBe(true);
    await a.sync();
    await b.sync();
    expect(b.consume('roamer')).toBe(false);
    expect(a.consume('roamer')).toBe(false);
  });

  // The bound: with N instances each admitting at most k of the user's requests between two of its
  // exchanges, at most limit + (N-1)·k are admitted per window.
  describe.each([
    { instances: 2, limit: 20, k: 4 },
    { instances: 3, limit: 20, k: 3 },
  ])('with $instances instances, limit $limit, at most k=$k requests per instance between exchanges', ({ instances, limit, k }) => {
    const bound = limit + (instances - 1) * k;

    it(`never allows more than limit + (N-1)·k = ${bound}, whatever the schedule`, async () => {
      const next = random(instances * 1000 + k);
      let worst = 0;
      for (let run = 0; run < 60; run += 1) {
        const limiters = Array.from({ length: instances }, () => instance(limit));
        const schedule = Array.from({ length: Math.ceil((2 * limit) / k) + 4 }, () => ({
          requests: limiters.map(() => Math.floor(next() * (k + 1))),
          order: limiters.map((_, i) => i).sort(() => next() - 0.5),
        }));
        const allowed = await rounds(limiters, `random-${instances}-${run}`, schedule);
        expect(allowed).toBeLessThanOrEqual(bound);
        worst = Math.max(worst, allowed);
        await Promise.all(opened.splice(0).map((limiter) => limiter.close()));
      }
      expect(worst).toBeGreaterThanOrEqual(limit);
    });

    it(`reaches exactly ${bound} when every instance sends k requests per round`, async () => {
      const limiters = Array.from({ length: instances }, () => instance(limit));
      const order = limiters.map((_, i) => i);
      // The last round with room left starts from totals that miss the others' previous round.
      const schedule = Array.from({ length: Math.ceil(limit / (instances * k)) + 2 }, () => ({ requests: limiters.map(() => k), order }));
      expect(await rounds(limiters, `tight-${instances}`, schedule)).toBe(bound);
    });
  });

  it('slides over the cluster-wide count of the previous window', async () => {
    const [a, b] = [instance(10), instance(10)];
    for (let i = 0; i < 10; i += 1) a.consume('slider');
    await a.sync();
    now = 101 * WINDOW_MS + WINDOW_MS / 2; // half of window 100 still counts: 5 of its 10
    b.track('slider');
    await b.sync();
    expect(Array.from({ length: 7 }, () => b.consume('slider')).filter(Boolean)).toHaveLength(5);
    await b.sync();
    expect(await redis.get(key(101, 'slider'))).toBe('5');
  });

  it('sends a batch of more keys than one script call takes in several calls, all counted', async () => {
    const limiter = instance(3);
    for (let u = 0; u < 700; u += 1) {
      limiter.consume(`many-${u}`);
      limiter.consume(`many-${u}`);
    }
    const sent = vi.spyOn(redis, 'sendCommand');
    await limiter.sync();
    expect(sent.mock.calls.length).toBe(2); // 700 adds + 700 reads of the previous window
    const values = await redis.mget(Array.from({ length: 700 }, (_, u) => key(100, `many-${u}`)));
    expect(new Set(values)).toEqual(new Set(['2']));
  });

  it('with Redis down it counts locally, never throws, logs once, and hands the counts over when Redis is back', async () => {
    // Closed before it ever connects: every command fails at once, until connect().
    const flaky = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    flaky.disconnect();
    connections.push(flaky);
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const limiter = instance(5, { redis: flaky });

    expect(Array.from({ length: 7 }, () => limiter.consume('offline'))).toEqual([true, true, true, true, true, false, false]);
    await expect(limiter.sync()).resolves.toBeUndefined();
    await expect(limiter.sync()).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(limiter.consume('offline')).toBe(false);
    expect(await redis.get(key(100, 'offline'))).toBeNull();

    await flaky.connect();
    await limiter.sync();
    expect(await redis.get(key(100, 'offline'))).toBe('5');
    expect(log).toHaveBeenCalledWith(expect.stringContaining('restored'));
  });

  it('exchanges on its own timer, and close() stops it after handing over the last counts', async () => {
    const [a, b] = [instance(4, { syncIntervalMs: 20 }), instance(4, { syncIntervalMs: 20 })];
    b.track('timed');
    for (let i = 0; i < 4; i += 1) a.consume('timed');
    await vi.waitFor(async () => expect(await redis.get(key(100, 'timed'))).toBe('4'), { timeout: 2_000, interval: 10 });
    await vi.waitFor(() => expect(b.consume('timed')).toBe(false), { timeout: 2_000, interval: 10 });

    const c = instance(10, { syncIntervalMs: 20 });
    c.consume('closing');
    await c.close();
    expect(await redis.get(key(100, 'closing'))).toBe('1');
    c.consume('closing');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await redis.get(key(100, 'closing'))).toBe('1');
  });

  it('forgets users once neither of their windows can matter', async () => {
    const limiter = instance(5);
    limiter.consume('idle');
    limiter.track('watcher');
    await limiter.sync();
    expect(limiter.size).toBe(2);
    now += WINDOW_MS; // the old window still counts as the previous one
    await limiter.sync();
    expect(limiter.size).toBe(2);
    now += WINDOW_MS;
    await limiter.sync();
    expect(limiter.size).toBe(0);
  });
});
