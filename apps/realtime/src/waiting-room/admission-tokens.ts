import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { SignJWT } from 'jose';
import { APP_CONFIG, type AppConfig } from '#config';
import { idKey, type CatalogId } from '#lock-domain';

/** Where the signing key came from (see {@link AdmissionTokens}). */
export type AdmissionKeySource = 'configured' | 'derived' | 'ephemeral' | 'missing';

/**
 * Signs admission tokens (CONTRACT §7): JWT HS256, `sub` = userId, `aud` = `event:<eventId>`, `iat` =
 * admission start, `exp` = admission end, `jti` unique per admission. The key:
 *
 * - `ADMISSION_TOKEN_SECRET` when set (what other services, e.g. Orders checkout, verify with);
 * - otherwise, outside production, HMAC-SHA256(`JWT_SECRET`, "admission-token-secret"): every instance
 *   sharing the JWT secret derives the same key, so a token verifies whichever instance issued it;
 * - otherwise, outside production (no JWT secret: zero-configuration mode), a random key per process,
 *   with a warning: fine for one instance, not across instances;
 * - in production without `ADMISSION_TOKEN_SECRET`: no key, and configuring a waiting room is refused
 *   (at start-up for the catalog file, `VALIDATION_FAILED` over RabbitMQ).
 *
 * A token is a pure function of (event, user, admission): every tab, reconnection and instance hands
 * out the same token for one admission.
 */
@Injectable()
export class AdmissionTokens {
  private readonly logger = new Logger('AdmissionTokens');
  private readonly key: Uint8Array | null;
  readonly source: AdmissionKeySource;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const configured = config.waitingRoom.tokenSecret;
    if (configured) {
      this.key = new TextEncoder().encode(configured);
      this.source = 'configured';
    } else if (config.production) {
      this.key = null;
      this.source = 'missing';
    } else if (config.jwt.secret) {
      this.key = createHmac('sha256', config.jwt.secret).update('admission-token-secret').digest();
      this.source = 'derived';
    } else {
      this.key = randomBytes(32);
      this.source = 'ephemeral';
    }
  }

  /** Whether tokens can be signed (a waiting room may be configured). */
  get available(): boolean {
    return this.key !== null;
  }

  /** Said once, when the first waiting room is configured. */
  explainKey(): void {
    if (this.source === 'derived') this.logger.warn('ADMISSION_TOKEN_SECRET is not set: admission tokens are signed with a key derived from JWT_SECRET');
    if (this.source === 'ephemeral') this.logger.warn('ADMISSION_TOKEN_SECRET is not set: admission tokens are signed with a per-process key (valid on this instance only)');
  }

  async sign(eventId: CatalogId, userId: string, admittedAt: number, expiresAt: number): Promise<string> {
    if (!this.key) throw new Error('ADMISSION_TOKEN_SECRET is required to sign admission tokens in production');
    const jti = createHash('sha256').update(`${idKey(eventId)}\u0000${userId}\u0000${expiresAt}`).digest('base64url').slice(0, 22);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setAudience(`event:${idKey(eventId)}`)
      .setIssuer('realtime-service')
      .setIssuedAt(Math.floor(admittedAt / 1000))
      // Whole seconds, rounded down: the token never outlives the admission.
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .setJti(jti)
      .sign(this.key);
  }
}
