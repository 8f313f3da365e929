import { generateKeyPair, exportSPKI, SignJWT, type CryptoKey } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropKeys, startApp, type TestApp, useApp } from './support/app.js';
import { closeAll, connect, ok, refused, request, signToken } from './support/clients.js';
import { anyString, containing } from './support/matchers.js';

describe('handshake', () => {
  const app = useApp();

  it('refuses a connection without a token', async () => {
    const error = await refused(app.socketUrl);
    expect(error.data?.code).toBe('UNAUTHORIZED');
  });

  it('refuses a forged token (signed with another secret)', async () => {
    const token = await signToken('mallory', { secret: 'not-the-server-secret-at-all-0000' });
    const error = await refused(app.socketUrl, { token });
    expect(error.data?.code).toBe('UNAUTHORIZED');
  });

  it('refuses an expired token', async () => {
    const token = await signToken('late-user', { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const error = await refused(app.socketUrl, { token });
    expect(error.data).toMatchObject({ code: 'UNAUTHORIZED', message: containing('expired') });
  });

  it('refuses an unsigned token (alg none) and garbage', async () => {
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"root"}').toString('base64url')}.`;
    expect((await refused(app.socketUrl, { token: unsigned })).data?.code).toBe('UNAUTHORIZED');
    expect((await refused(app.socketUrl, { token: 'not-a-jwt' })).data?.code).toBe('UNAUTHORIZED');
  });

  it('refuses the anonymous query userId when anonymous access is off', async () => {
    const error = await refused(app.socketUrl, { query: { userId: 'someone' } });
    expect(error.data?.code).toBe('UNAUTHORIZED');
  });

  it('greets with connected { sessionId, userId, serverTime } (token in auth.token)', async () => {
    const before = Date.now();
    const { socket, hello } = await connect(app.socketUrl, { userId: 'alice' });
    expect(hello.userId).toBe('alice');
    expect(hello.sessionId).toBe(socket.id);
    expect(Date.parse(hello.serverTime)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('accepts the token in an Authorization: Bearer header', async () => {
    const { hello } = await connect(app.socketUrl, { userId: 'bob', viaHeader: true });
    expect(hello.userId).toBe('bob');
  });

  it('takes the user from the userId claim when there is no sub', async () => {
    const token = await signToken('carol', { claim: 'userId' });
    const { socket, hello } = await connect(app.socketUrl, { token });
    expect(hello.userId).toBe('carol');
    expect(ok(await request(socket, 'heartbeat', {})).timestamp).toEqual(anyString());
  });

  it('refuses connections to the main namespace', async () => {
    const error = await refused(app.baseUrl, { userId: 'alice' });
    expect(error.message).toBe('Invalid namespace');
  });
});

describe('handshake with an ES256 public key and a CORS allow-list', () => {
  let app: TestApp;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    app = await startApp({
      env: { JWT_SECRET: undefined, JWT_PUBLIC_KEY: await exportSPKI(pair.publicKey), WEBSOCKET_CORS_ORIGIN: 'https://tickets.example' },
    });
  });
  afterEach(() => closeAll());
  afterAll(async () => {
    await app.close();
    await dropKeys(app.config.redisKeyPrefix);
  });

  const es256 = (sub: string) => new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject(sub).setExpirationTime('5m').sign(privateKey);

  it('accepts an ES256 token and refuses an HS256 one', async () => {
    const { hello } = await connect(app.socketUrl, { token: await es256('dave') });
    expect(hello.userId).toBe('dave');
    expect((await refused(app.socketUrl, { userId: 'dave' })).data?.code).toBe('UNAUTHORIZED');
  });

  it('accepts an allowed Origin and refuses another one', async () => {
    const token = await es256('erin');
    const { hello } = await connect(app.socketUrl, { token, extraHeaders: { Origin: 'https://tickets.example' } });
    expect(hello.userId).toBe('erin');
    const error = await refused(app.socketUrl, { token, extraHeaders: { Origin: 'https://evil.example' } });
    expect(error).toBeInstanceOf(Error);
  });
});
