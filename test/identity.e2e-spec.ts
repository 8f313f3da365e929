import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { JWT_SECRET, useApp } from './support/app.js';
import { connect, disconnected, next, ok, refused, request, sleep } from './support/clients.js';

/** CONTRACT §2 Anonymous mode: with a JWT key configured, anonymous ids can never name a token user. */
describe('anonymous mode beside token users', () => {
  const app = useApp({ env: { WS_ALLOW_ANONYMOUS: 'true' } });

  it('an anonymous "victim" is anon-victim: it cannot see, extend, release or lock as the token user victim', async () => {
    const { socket: victim } = await connect(app.socketUrl, { userId: 'victim' });
    const lock = ok(await request(victim, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));

    const { socket: impostor, hello } = await connect(app.socketUrl, { query: { userId: 'victim' } });
    expect(hello.userId).toBe('anon-victim');
    expect(ok(await request(impostor, 'get-my-locks', {})).locks).toEqual([]);
    expect(await request(impostor, 'extend-lock', { lockId: lock.lockId })).toMatchObject({ success: false, code: 'NOT_LOCK_OWNER' });
    expect(await request(impostor, 'unlock-tickets', { lockId: lock.lockId })).toMatchObject({ success: false, code: 'NOT_LOCK_OWNER' });
    expect(await request(impostor, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1, userId: 'victim' })).toMatchObject({ success: false, code: 'FORBIDDEN' });
    // Its own lock is its own, not the victim's.
    ok(await request(impostor, 'lock-tickets', { eventId: 1, categoryId: 1, quantity: 1 }));
    const mine = ok(await request(victim, 'get-my-locks', {})).locks;
    expect(mine.map((l) => l.lockId)).toEqual([lock.lockId]);
    expect(mine[0]?.status).toBe('ACTIVE');
  });

  it('refuses bidirectional-override and control characters in query.userId', async () => {
    for (const userId of ['vict\u202Eim', 'a\u200Bb', 'a\u0007b']) {
      expect((await refused(app.socketUrl, { query: { userId } })).data?.code).toBe('UNAUTHORIZED');
    }
  });
});

/** CONTRACT §2 Token lifetime. */
describe('token lifetime', () => {
  const app = useApp();
  const sign = (claims: { sub: string; exp?: number }) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(claims.sub);
    if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
    return jwt.sign(new TextEncoder().encode(JWT_SECRET));
  };

  it('refuses a token without exp', async () => {
    const error = await refused(app.socketUrl, { token: await sign({ sub: 'forever' }) });
    expect(error.data).toMatchObject({ code: 'UNAUTHORIZED', message: 'Invalid token: no exp claim (tokens must expire)' });
  });

  it('refuses a right-to-left override in sub', async () => {
    const error = await refused(app.socketUrl, { token: await sign({ sub: 'admin\u202Etxt', exp: Math.floor(Date.now() / 1000) + 60 }) });
    expect(error.data?.code).toBe('UNAUTHORIZED');
  });

  it('at its token expiry a socket gets token-expired { expiredAt } and is disconnected; its locks stay for the grace', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const { socket } = await connect(app.socketUrl, { token: await sign({ sub: 'short-lived', exp }) });
    const lock = ok(await request(socket, 'lock-tickets', { eventId: 1, categoryId: 2, quantity: 1 }));
    const told = next<{ expiredAt: string }>(socket, 'token-expired');
    const gone = disconnected(socket);
    expect(await told).toEqual({ expiredAt: new Date(exp * 1000).toISOString() });
    expect(await gone).toBe('io server disconnect');
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    // Back with a fresh token within the grace: the lock is still there.
    await sleep(200);
    const { socket: again } = await connect(app.socketUrl, { userId: 'short-lived' });
    expect(ok(await request(again, 'get-my-locks', {})).locks.map((l) => l.lockId)).toEqual([lock.lockId]);
  });
});
