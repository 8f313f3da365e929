import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { SignJWT, UnsecuredJWT, importPKCS8, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '#config';
import type { RealtimeSocket } from './socket-types.js';
import { HandshakeRefused, WsAuthMiddleware } from './ws-auth.middleware.js';

const SECRET = 'unit-test-secret-0123456789abcdef';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (pair: typeof rsa) => ({
  publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
});
const RSA = pem(rsa);
const OTHER_RSA = pem(otherRsa);
const EC = pem(ec);

function middleware(jwt: Omit<AppConfig['jwt'], 'requireExp'> & { requireExp?: boolean }, allowAnonymous = false): WsAuthMiddleware {
  return new WsAuthMiddleware({ jwt: { requireExp: true, ...jwt }, allowAnonymous } as AppConfig);
}

interface Handshake {
  token?: unknown;
  authorization?: string;
  query?: Record<string, unknown>;
}

function socket({ token, authorization, query = {} }: Handshake = {}): Pick<RealtimeSocket, 'handshake'> {
  return {
    handshake: {
      auth: token === undefined ? {} : { token },
      headers: authorization === undefined ? {} : { authorization },
      query,
    },
  } as unknown as Pick<RealtimeSocket, 'handshake'>;
}

async function hs256(claims: JWTPayload, options: { secret?: string; expiresIn?: string | number; sub?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(options.expiresIn ?? '1h');
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

async function signed(alg: 'RS256' | 'ES256', privateKey: string, sub: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg }).setSubject(sub).setExpirationTime('1h').sign(await importPKCS8(privateKey, alg));
}

/** The refusal's client-facing message; fails the test when the handshake was accepted. */
async function refusal(auth: WsAuthMiddleware, handshake: Handshake): Promise<string> {
  const error: unknown = await auth.authenticate(socket(handshake)).then(
    (userId) => new Error(`accepted as ${userId}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HandshakeRefused);
  const refused = error as HandshakeRefused;
  expect(refused.data).toEqual({ code: 'UNAUTHORIZED', message: refused.message });
  return refused.message;
}

afterEach(() => vi.restoreAllMocks());

describe('WsAuthMiddleware', () => {
  describe('HS256 (JWT_SECRET)', () => {
    const auth = middleware({ secret: SECRET });

    it('accepts a valid token from auth.token or the Authorization header; the user is `sub`', async () => {
      const token = await hs256({}, { sub: 'alice' });
      expect(await auth.authenticate(socket({ token }))).toBe('alice');
      expect(await auth.authenticate(socket({ authorization: `Bearer ${token}` }))).toBe('alice');
      expect(await auth.authenticate(socket({ authorization: `bearer   ${token}` }))).toBe('alice');
    });

    it('takes the `userId` claim when there is no `sub`, and integer ids as strings', async () => {
      expect(await auth.authenticate(socket({ token: await hs256({ userId: 'bob' }) }))).toBe('bob');
      expect(await auth.authenticate(socket({ token: await hs256({ userId: 42 }) }))).toBe('42');
      // `sub` wins when both are usable.
      expect(await auth.authenticate(socket({ token: await hs256({ userId: 'bob' }, { sub: 'alice' }) }))).toBe('alice');
    });

    it('refuses a token without a usable user', async () => {
      expect(await refusal(auth, { token: await hs256({}) })).toMatch(/no usable sub or userId/);
      expect(await refusal(auth, { token: await hs256({ userId: 'has space' }) })).toMatch(/no usable sub or userId/);
      expect(await refusal(auth, { token: await hs256({ userId: 1.5 }) })).toMatch(/no usable sub or userId/);
    });

    it('refuses a forged signature', async () => {
      expect(await refusal(auth, { token: await hs256({}, { sub: 'alice', secret: 'another-secret-0123456789abcdef' }) })).toMatch(/bad signature/);
      const token = await hs256({}, { sub: 'alice' });
      const [header, , signature] = token.split('.');
      const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: 'mallory', exp: 9e9 })).toString('base64url')}.${signature}`;
      expect(await refusal(auth, { token: tampered })).toMatch(/bad signature/);
    });

    it('refuses an expired token', async () => {
      const token = await hs256({}, { sub: 'alice', expiresIn: Math.floor(Date.now() / 1000) - 10 });
      expect(await refusal(auth, { token })).toBe('Invalid token: expired');
    });

    it('requires exp (JWT_REQUIRE_EXP, default true); with it off a token without exp is accepted', async () => {
      const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(new TextEncoder().encode(SECRET));
      expect(await refusal(auth, { token: noExp })).toBe('Invalid token: no exp claim (tokens must expire)');
      expect(await middleware({ secret: SECRET, requireExp: false }).authenticate(socket({ token: noExp }))).toBe('alice');
    });

    it('refuses control and bidirectional-override characters in sub / userId', async () => {
      for (const id of ['admin\u202Eevil', 'bob\u200F', 'line\nbreak']) {
        expect(await refusal(auth, { token: await hs256({}, { sub: id }) })).toBe('Invalid token: no usable sub or userId claim');
        expect(await refusal(auth, { token: await hs256({ userId: id }) })).toBe('Invalid token: no usable sub or userId claim');
      }
    });

    it('refuses an unsecured token (alg "none")', async () => {
      const token = new UnsecuredJWT({ sub: 'alice' }).setExpirationTime('1h').encode();
      expect(await refusal(auth, { token })).toMatch(/^Invalid token/);
    });

    it('refuses a missing, empty, non-string, garbage or oversized token', async () => {
      expect(await refusal(auth, {})).toBe('Authentication required: no token');
      expect(await refusal(auth, { token: '' })).toBe('Authentication required: no token');
      expect(await refusal(auth, { token: 42 })).toBe('Authentication required: no token');
      expect(await refusal(auth, { token: 'not.a.jwt' })).toMatch(/^Invalid token/);
      expect(await refusal(auth, { token: 'x'.repeat(10_000) })).toBe('Invalid token: too long');
    });

    it('does not fall back to anonymous when anonymous mode is off, whatever the query says', async () => {
      expect(await refusal(auth, { query: { userId: 'alice' } })).toBe('Authentication required: no token');
    });
  });

  describe('RS256 / ES256 (JWT_PUBLIC_KEY)', () => {
    it('accepts RS256 tokens of the configured key only', async () => {
      const auth = middleware({ publicKey: RSA.publicKey });
      await auth.onModuleInit();
      expect(await auth.authenticate(socket({ token: await signed('RS256', RSA.privateKey, 'carol') }))).toBe('carol');
      expect(await refusal(auth, { token: await signed('RS256', OTHER_RSA.privateKey, 'carol') })).toMatch(/bad signature/);
    });

    it('refuses an HS256 token signed with the public key as secret (algorithm confusion)', async () => {
      const auth = middleware({ publicKey: RSA.publicKey });
      expect(await refusal(auth, { token: await hs256({}, { sub: 'mallory', secret: RSA.publicKey }) })).toMatch(/^Invalid token/);
    });

    it('accepts ES256 tokens with a P-256 key', async () => {
      const auth = middleware({ publicKey: EC.publicKey });
      expect(await auth.authenticate(socket({ token: await signed('ES256', EC.privateKey, 'dave') }))).toBe('dave');
    });

    it('accepts both kinds when both keys are configured', async () => {
      const auth = middleware({ secret: SECRET, publicKey: RSA.publicKey });
      expect(await auth.authenticate(socket({ token: await hs256({}, { sub: 'alice' }) }))).toBe('alice');
      expect(await auth.authenticate(socket({ token: await signed('RS256', RSA.privateKey, 'carol') }))).toBe('carol');
    });

    it('fails the start-up on a key it cannot use', async () => {
      const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
      await expect(middleware({ publicKey: ed }).onModuleInit()).rejects.toThrow(/JWT_PUBLIC_KEY: unsupported key type/);
    });
  });

  describe('anonymous mode (WS_ALLOW_ANONYMOUS)', () => {
    it('without any key: the user is query.userId, or a generated id; a token identifies nobody', async () => {
      const auth = middleware({}, true);
      expect(await auth.authenticate(socket({ query: { userId: 'guest-1' } }))).toBe('guest-1');
      expect(await auth.authenticate(socket())).toMatch(/^anon-[0-9a-f-]{36}$/);
      expect(await auth.authenticate(socket({ query: { userId: '' } }))).toMatch(/^anon-/);
      expect(await auth.authenticate(socket({ token: await hs256({}, { sub: 'alice' }), query: { userId: 'guest-2' } }))).toBe('guest-2');
    });

    it('refuses an unusable query.userId (spaces, control and bidirectional or zero-width characters)', async () => {
      const auth = middleware({}, true);
      for (const userId of ['has space', 'x'.repeat(129), ['a', 'b'], 'tab\there', 'admin\u202Eevil', 'a\u2066b', 'zero\u200Bwidth', 'nul\u0000']) {
        expect(await refusal(auth, { query: { userId } })).toMatch(/^Invalid userId/);
      }
    });

    it('with a key configured: a client without a token is anonymous, but a bad token is refused, not downgraded', async () => {
      const auth = middleware({ secret: SECRET }, true);
      expect(await auth.authenticate(socket({ query: { userId: 'guest-3' } }))).toBe('anon-guest-3');
      expect(await auth.authenticate(socket({ token: await hs256({}, { sub: 'alice' }), query: { userId: 'guest-3' } }))).toBe('alice');
      expect(await refusal(auth, { token: await hs256({}, { sub: 'alice', secret: 'another-secret-0123456789abcdef' }) })).toMatch(/bad signature/);
    });

    it('with a key configured: an anonymous id is always anon-…, so it can never be a token user', async () => {
      const auth = middleware({ secret: SECRET }, true);
      expect(await auth.authenticate(socket({ query: { userId: 'victim' } }))).toBe('anon-victim');
      expect(await auth.authenticate(socket({ query: { userId: 'anon-x' } }))).toBe('anon-anon-x');
      expect(await auth.authenticate(socket())).toMatch(/^anon-[0-9a-f-]{36}$/);
      expect(await refusal(auth, { query: { userId: 'x'.repeat(124) } })).toMatch(/^Invalid userId: expected 1-123 characters/);
    });

    it('off and no key configured: every connection is refused', async () => {
      expect(await refusal(middleware({}, false), { query: { userId: 'guest' } })).toBe('Authentication is not configured on this server');
    });
  });

  describe('as namespace middleware', () => {
    const run = (auth: WsAuthMiddleware, handshake: Handshake) => {
      const target = socket(handshake) as RealtimeSocket;
      return new Promise<{ error: unknown; data: unknown }>((resolve) => {
        auth.use(target, (error) => resolve({ error, data: target.data }));
      });
    };

    it('stores only the user id and the token expiry on the socket and lets it in', async () => {
      const token = await hs256({}, { sub: 'alice' });
      const { error, data } = await run(middleware({ secret: SECRET }), { token });
      expect(error).toBeUndefined();
      const { exp } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number };
      expect(data).toEqual({ userId: 'alice', tokenExpiresAt: exp * 1000 });
    });

    it('refuses with data.code UNAUTHORIZED (what the client gets as connect_error)', async () => {
      const { error } = await run(middleware({ secret: SECRET }), {});
      expect(error).toBeInstanceOf(HandshakeRefused);
      expect((error as HandshakeRefused).data).toEqual({ code: 'UNAUTHORIZED', message: 'Authentication required: no token' });
    });

    it('turns an unexpected failure into a plain refusal, logging the details on the server only', async () => {
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const auth = middleware({ publicKey: '-----BEGIN PUBLIC KEY-----\nbroken\n-----END PUBLIC KEY-----' });
      const { error } = await run(auth, { token: 'a.b.c' });
      expect((error as HandshakeRefused).data).toEqual({ code: 'UNAUTHORIZED', message: 'Authentication failed' });
      expect(logged).toHaveBeenCalledTimes(1);
    });
  });
});
