import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropKeys, startApp, type TestApp } from './support/app.js';
import { closeAll, connect, request, sleep, type TestSocket } from './support/clients.js';
import { uniqueName } from './support/services.js';

const LIMIT = 10;
/** More than two sync intervals (250 ms) plus round trips: every instance has sent and read back. */
const SETTLE_MS = 700;

describe(`per-user rate limit (RATE_LIMIT_PER_MINUTE=${LIMIT}) over two instances sharing Redis`, () => {
  const prefix = uniqueName('e2e-rl-cluster');
  let apps: TestApp[];

  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: String(LIMIT) };
    apps = [await startApp({ env }), await startApp({ env })];
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await dropKeys(prefix);
  });

  const both = async (userId: string): Promise<[TestSocket, TestSocket]> => {
    const [a, b] = apps as [TestApp, TestApp];
    return [(await connect(a.socketUrl, { userId })).socket, (await connect(b.socketUrl, { userId })).socket];
  };

  /** Sends `count` heartbeats one after the other; answers how many were allowed (the rest must be RATE_LIMITED). */
  const send = async (socket: TestSocket, count: number): Promise<number> => {
    let allowed = 0;
    for (let i = 0; i < count; i += 1) {
      const answer = await request(socket, 'heartbeat');
      if (answer.success) allowed += 1;
      else expect(answer.code).toBe('RATE_LIMITED');
    }
    return allowed;
  };

  it('a user who used the budget on one instance is refused on the other', async () => {
    const [onA, onB] = await both('roamer');
    expect(await send(onA, LIMIT)).toBe(LIMIT);
    await sleep(SETTLE_MS);
    expect(await send(onB, 3)).toBe(0);
    expect(await send(onA, 1)).toBe(0);
  });

  // The guaranteed bound: limit + what the other instance admits within one sync interval. Here each
  // instance gets K requests per interval, so at most LIMIT + K pass — not 2 × LIMIT.
  it('requests split over both instances are limited cluster-wide, within one sync interval of slack', async () => {
    const K = 3;
    const [onA, onB] = await both('spreader');
    let allowed = 0;
    let lastRound = -1;
    for (let round = 0; round < 8; round += 1) {
      const [fromA, fromB] = await Promise.all([send(onA, K), send(onB, K)]);
      allowed += fromA + fromB;
      if (fromA + fromB === 0) {
        lastRound = round;
        break;
      }
      await sleep(SETTLE_MS);
    }
    expect(lastRound).toBeGreaterThan(0); // both instances refuse everything in the end
    expect(allowed).toBeGreaterThanOrEqual(LIMIT);
    expect(allowed).toBeLessThanOrEqual(LIMIT + K);
  });
});
