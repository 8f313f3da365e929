import { afterAll, describe, expect, it } from 'vitest';
import { LockError, type EventInfo, type LockPolicy, type LockStore } from '#lock-domain';
import { TEST_REDIS_URL, dropKeys, uniqueName } from '../../../../test/support/services.js';
import { POLICY } from '../contract/index.js';
import { InProcessLockStore } from '../memory/in-process-lock-store.js';
import { RedisLockStore } from './redis-lock-store.js';

/**
 * The Lua picker and orphan rule are twins of libs/lock-domain/src/seats.ts (run by the in-process
 * store): random seat maps in random states, the same requests on both stores, the same answers.
 */
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await dropKeys(prefix);
});

function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

async function outcome(call: Promise<{ value: { lock: { seats?: string[] } } }>): Promise<string> {
  return call.then(
    (reply) => `held ${(reply.value.lock.seats ?? []).join(',')}`,
    (error: unknown) => (error instanceof LockError ? `${error.code} ${(error.seatIds ?? []).join(',')}` : `unexpected ${String(error)}`),
  );
}

describe('seat picker twins: Lua and TypeScript', () => {
  it('best available and the orphan rule answer the same on random maps', async () => {
    const random = prng(2027);
    const policy: LockPolicy = { ...POLICY, maxActiveLocksPerUser: 100, seatOrphanRule: 'reject' };
    const prefix = uniqueName('tl-twins');
    prefixes.push(prefix);
    const redis = new RedisLockStore({ redis: TEST_REDIS_URL, policy, keyPrefix: prefix });
    const memory = new InProcessLockStore(policy);
    const stores: LockStore[] = [redis, memory];
    try {
      for (let round = 0; round < 40; round++) {
        const rows = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, r) => ({
          row: `R${r}`,
          seats: Array.from({ length: 1 + Math.floor(random() * 12) }, (_, s) => `e${round}-${r}-${s}`),
        }));
        const all = rows.flatMap((r) => r.seats);
        const blocked = all.filter(() => random() < 0.1);
        const event: EventInfo = { id: `e${round}`, categories: [{ categoryId: 'c', totalTickets: 0, seats: { rows, blocked } }] };
        for (const store of stores) await store.defineEvent(event, { replaceTotals: false });
        // Random single-seat holds (the orphan rule allows singles only where nothing better exists, so
        // some are refused: both stores must refuse the same ones, naming the same seats).
        for (const [i, seat] of all.entries()) {
          if (random() >= 0.35) continue;
          const answers = await Promise.all(
            stores.map((store) => outcome(store.holdSeats({ eventId: event.id, seatIds: [seat], userId: `h${i}`, sessionId: 's' }))),
          );
          expect(answers[0], `hold ${seat}`).toBe(answers[1]);
        }
        for (let q = 1; q <= 4; q++) {
          const answers = await Promise.all(
            stores.map((store) =>
              outcome(store.lock({ eventId: event.id, categoryId: 'c', hold: { kind: 'quantity', quantity: q }, userId: `b${q}`, sessionId: 's' })),
            ),
          );
          expect(answers[0], `round ${round}, best available ${q}`).toBe(answers[1]);
        }
        const [a, b] = await Promise.all(stores.map((store) => store.seatMap(event.id)));
        expect(a?.value).toEqual(b?.value);
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
