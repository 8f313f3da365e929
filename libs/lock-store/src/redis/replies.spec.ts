import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LockError } from '#lock-domain';
import { MalformedReplyError } from './replies.js';
import { RedisLockStore } from './redis-lock-store.js';

const POLICY = { lockDurationMs: 1000, maxLifetimeMs: 3000, maxActiveLocksPerUser: 3, maxTicketsPerLock: 4, retentionMs: 5000 };

const LOCK = {
  lockId: 'l1',
  eventId: 1,
  categoryId: 'A',
  quantity: 2,
  userId: 'u1',
  sessionId: 's1',
  status: 'ACTIVE',
  createdAt: 1000,
  expiresAt: 2000,
};

/** A store whose every script answers `reply` (no Redis: what reaches the boundary is the point). */
function storeAnswering(reply: unknown): RedisLockStore {
  const fake: Record<string, unknown> = {
    defineCommand(name: string) {
      fake[name] = async () => reply;
    },
  };
  return new RedisLockStore({ redis: fake as unknown as Redis, policy: POLICY });
}

const envelope = (rest: Record<string, unknown>) => JSON.stringify({ now: 1500, transitions: [], availability: [], ...rest });

async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => new Error('expected a failure'),
    (error: unknown) => error,
  );
}

describe('RedisLockStore: replies are checked at the boundary, never cast', () => {
  it('a well-formed reply is the value', async () => {
    const reply = await storeAnswering(envelope({ value: LOCK })).extend('l1', 'u1');
    expect(reply.value).toEqual(LOCK);
  });

  it.each([
    ['a lock without expiresAt', envelope({ value: { ...LOCK, expiresAt: undefined } })],
    ['a status no lock has', envelope({ value: { ...LOCK, status: 'PENDING' } })],
    ['a fractional quantity', envelope({ value: { ...LOCK, quantity: 1.5 } })],
    ['no value at all', envelope({})],
    ['a transition with a malformed lock', envelope({ value: LOCK, transitions: [{ event: 'created', lock: { lockId: 'l1' } }] })],
    ['counts without a version', envelope({ value: LOCK, availability: [{ eventId: 1, categoryId: 'A', totalTickets: 1, availableTickets: 1, lockedTickets: 0, soldTickets: 0 }] })],
    ['no now', JSON.stringify({ value: LOCK, transitions: [], availability: [] })],
    ['text that is not JSON', 'ERR something'],
    ['a number', 42],
  ])('%s → MalformedReplyError (an internal fault), not a LockRecord', async (_, reply) => {
    const error = await failure(storeAnswering(reply).extend('l1', 'u1'));
    expect(error).toBeInstanceOf(MalformedReplyError);
    expect(error).not.toBeInstanceOf(LockError);
  });

  it('each operation checks its own value: a lock where stats are due is refused', async () => {
    expect(await failure(storeAnswering(envelope({ value: LOCK })).stats())).toBeInstanceOf(MalformedReplyError);
    expect(await failure(storeAnswering(envelope({ value: [LOCK] })).lock({ eventId: 1, categoryId: 'A', userId: 'u1', sessionId: 's1', hold: { kind: 'quantity', quantity: 1 } }))).toBeInstanceOf(MalformedReplyError);
  });

  it('a refusal keeps its code; an unknown code is INTERNAL_ERROR', async () => {
    const refused = await failure(storeAnswering(envelope({ error: 'LOCK_EXPIRED', status: 'EXPIRED' })).extend('l1', 'u1'));
    expect(refused).toMatchObject({ code: 'LOCK_EXPIRED', status: 'EXPIRED' });
    const unknown = await failure(storeAnswering(envelope({ error: 'SOMETHING_ELSE' })).extend('l1', 'u1'));
    expect(unknown).toMatchObject({ code: 'INTERNAL_ERROR' });
  });
});
