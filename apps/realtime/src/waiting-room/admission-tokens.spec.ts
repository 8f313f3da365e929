import { decodeJwt, jwtVerify } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '#config';
import { LockError, type WaitingRoomStore } from '#lock-domain';
import { AdmissionTokens } from './admission-tokens.js';
import { WaitingRoomService } from './waiting-room.service.js';

const PROD = { NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', JWT_SECRET: 'a-long-enough-jwt-secret', WEBSOCKET_CORS_ORIGIN: 'https://shop.example' };
const ADMITTED_AT = Date.parse('2027-06-01T10:00:00.000Z');
const ENDS_AT = ADMITTED_AT + 600_500;

describe('admission tokens', () => {
  it('ADMISSION_TOKEN_SECRET: HS256, sub, aud event:<id>, iat, exp rounded down, jti per admission; the same token for one admission', async () => {
    const secret = 'admission-secret-0123456789';
    const tokens = new AdmissionTokens(loadConfig({ ...PROD, ADMISSION_TOKEN_SECRET: secret }));
    expect(tokens.source).toBe('configured');
    const token = await tokens.sign('flash', 'u1', ADMITTED_AT, ENDS_AT);
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(secret), {
      audience: 'event:flash',
      issuer: 'realtime-service',
      currentDate: new Date(ADMITTED_AT + 1000),
    });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: 'u1', iat: ADMITTED_AT / 1000, exp: Math.floor(ENDS_AT / 1000) });
    expect(await tokens.sign('flash', 'u1', ADMITTED_AT, ENDS_AT)).toBe(token);
    const another = decodeJwt(await tokens.sign('flash', 'u1', ADMITTED_AT + 5000, ENDS_AT + 5000));
    expect(another.jti).not.toBe(payload.jti);
    expect(decodeJwt(await tokens.sign(7, 'u1', ADMITTED_AT, ENDS_AT)).aud).toBe('event:7');
  });

  it('outside production without it: derived from JWT_SECRET (every instance alike), or a key per process', async () => {
    const env = { JWT_SECRET: 'a-long-enough-jwt-secret' };
    const [a, b] = [new AdmissionTokens(loadConfig(env)), new AdmissionTokens(loadConfig(env))];
    expect(a.source).toBe('derived');
    expect(await a.sign('e', 'u', ADMITTED_AT, ENDS_AT)).toBe(await b.sign('e', 'u', ADMITTED_AT, ENDS_AT));
    const [c, d] = [new AdmissionTokens(loadConfig({})), new AdmissionTokens(loadConfig({}))];
    expect(c.source).toBe('ephemeral');
    expect(await c.sign('e', 'u', ADMITTED_AT, ENDS_AT)).not.toBe(await d.sign('e', 'u', ADMITTED_AT, ENDS_AT));
  });

  it('in production without ADMISSION_TOKEN_SECRET a waiting room cannot be configured, and nothing is', async () => {
    const config = loadConfig(PROD);
    const tokens = new AdmissionTokens(config);
    expect(tokens.available).toBe(false);
    const configure = vi.fn();
    const service = new WaitingRoomService({ configure } as unknown as WaitingRoomStore, config, tokens);
    const refused = await service.configure('flash', { admitPerMinute: 60, maxActiveUsers: 10, admissionMs: 60_000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LockError);
    expect((refused as LockError).code).toBe('VALIDATION_FAILED');
    expect((refused as LockError).message).toContain('ADMISSION_TOKEN_SECRET');
    expect(configure).not.toHaveBeenCalled();
    await expect(tokens.sign('flash', 'u1', ADMITTED_AT, ENDS_AT)).rejects.toThrow(/ADMISSION_TOKEN_SECRET/);
  });
});
