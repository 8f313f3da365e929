import { createPublicKey, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { errors as joseErrors, importSPKI, jwtVerify, type CryptoKey, type JWTPayload, type JWTHeaderParameters } from 'jose';
import type { ExtendedError, Socket } from 'socket.io';
import { APP_CONFIG, type AppConfig } from '#config';
import { MAX_USER_ID_LENGTH } from '#contracts';
import type { RealtimeSocket } from './socket-types.js';

type Algorithm = 'HS256' | 'RS256' | 'ES256';
type VerificationKey = CryptoKey | Uint8Array;

/** Tokens longer than this are refused before any cryptography runs. */
const MAX_TOKEN_LENGTH = 8192;
/**
 * Printable, no whitespace, control or format characters (`Cf`: bidirectional overrides such as
 * U+202E, zero-width characters), which could make one id display as another. User ids end up in
 * room names, store keys and screens.
 */
const USER_ID_PATTERN = new RegExp(`^[^\\s\\p{Cc}\\p{Cf}]{1,${MAX_USER_ID_LENGTH}}$`, 'u');
/** Anonymous ids, when token users exist, all start with this: they can never name a token user. */
const ANONYMOUS_PREFIX = 'anon-';

/** A refused handshake; reaches the client as `connect_error` with `data.code = "UNAUTHORIZED"`. */
export class HandshakeRefused extends Error {
  override readonly name = 'HandshakeRefused';
  readonly data: { code: 'UNAUTHORIZED'; message: string };

  constructor(message: string) {
    super(message);
    this.data = { code: 'UNAUTHORIZED', message };
  }
}

/**
 * Socket.IO connection middleware of the `/realtime` namespace (Nest guards do not run on connect).
 *
 * The token comes from `auth.token` or the `Authorization: Bearer …` header and is verified with
 * `jose`: HS256 with `JWT_SECRET`, RS256 or ES256 (by the key's type) with `JWT_PUBLIC_KEY`; the
 * signature and `exp`/`nbf` are checked. The user is the `sub` claim, else the `userId` claim.
 *
 * A token must carry `exp` unless `JWT_REQUIRE_EXP=false`; at that instant the socket is told
 * `token-expired` and disconnected (`TokenExpiryWatch`).
 *
 * Without a token, the connection is refused unless `WS_ALLOW_ANONYMOUS` is on; an anonymous client is
 * `query.userId` (validated) or a generated id, prefixed `anon-` when a JWT key is configured so that
 * it can never act as a token user. A token that is present but invalid is refused even then: a
 * client that believes it is authenticated must not be silently downgraded.
 */
@Injectable()
export class WsAuthMiddleware implements OnModuleInit {
  private readonly logger = new Logger(WsAuthMiddleware.name);
  private keys: Promise<Map<Algorithm, VerificationKey>> | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Imports the keys at start-up so a bad key fails the start, not the first client. */
  async onModuleInit(): Promise<void> {
    await this.verificationKeys();
  }

  /** The middleware itself, for `namespace.use(...)`. */
  readonly use = (socket: Socket, next: (error?: ExtendedError) => void): void => {
    this.identify(socket as RealtimeSocket).then(
      (data) => {
        (socket as RealtimeSocket).data = data;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof HandshakeRefused)) {
          this.logger.error(`handshake check failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          next(new HandshakeRefused('Authentication failed'));
          return;
        }
        next(error);
      },
    );
  };

  /** The authenticated (or anonymous) user id of a handshake; throws {@link HandshakeRefused}. */
  async authenticate(socket: Pick<RealtimeSocket, 'handshake'>): Promise<string> {
    return (await this.identify(socket)).userId;
  }

  /** Who the handshake is: a verified user, or an anonymous one; throws {@link HandshakeRefused}. */
  private async identify(socket: Pick<RealtimeSocket, 'handshake'>): Promise<RealtimeSocket['data']> {
    const token = tokenOf(socket.handshake);
    const keys = await this.verificationKeys();
    if (token !== undefined && keys.size > 0) return this.verify(token, keys);
    if (!this.config.allowAnonymous) {
      throw new HandshakeRefused(keys.size === 0 ? 'Authentication is not configured on this server' : 'Authentication required: no token');
    }
    // Anonymous mode with no key configured: a token cannot be verified, so it identifies nobody.
    return { userId: anonymousUser(socket.handshake.query.userId, keys.size > 0), anonymous: true };
  }

  private async verify(token: string, keys: Map<Algorithm, VerificationKey>): Promise<RealtimeSocket['data']> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header: JWTHeaderParameters) => keyFor(keys, header), {
        algorithms: [...keys.keys()],
        ...(this.config.jwt.requireExp ? { requiredClaims: ['exp'] } : {}),
      }));
    } catch (error) {
      throw new HandshakeRefused(refusalReason(error));
    }
    const userId = claimedUser(payload);
    if (userId === undefined) throw new HandshakeRefused('Invalid token: no usable sub or userId claim');
    return typeof payload.exp === 'number' ? { userId, tokenExpiresAt: payload.exp * 1000 } : { userId };
  }

  private verificationKeys(): Promise<Map<Algorithm, VerificationKey>> {
    this.keys ??= loadKeys(this.config.jwt);
    return this.keys;
  }
}

async function loadKeys(jwt: AppConfig['jwt']): Promise<Map<Algorithm, VerificationKey>> {
  const keys = new Map<Algorithm, VerificationKey>();
  if (jwt.secret !== undefined) keys.set('HS256', new TextEncoder().encode(jwt.secret));
  if (jwt.publicKey !== undefined) {
    // The key's own type says which algorithm it verifies; no guessing from the token's header.
    const type = createPublicKey(jwt.publicKey).asymmetricKeyType;
    const alg: Algorithm | undefined = type === 'rsa' ? 'RS256' : type === 'ec' ? 'ES256' : undefined;
    if (!alg) throw new Error(`JWT_PUBLIC_KEY: unsupported key type ${String(type)} (expected an RSA or P-256 EC key)`);
    keys.set(alg, await importSPKI(jwt.publicKey, alg));
  }
  return keys;
}

function keyFor(keys: Map<Algorithm, VerificationKey>, header: JWTHeaderParameters): VerificationKey {
  const key = keys.get(header.alg as Algorithm);
  // jose also enforces `algorithms`; this only picks the matching key.
  if (!key) throw new HandshakeRefused(`Invalid token: algorithm ${String(header.alg)} is not accepted`);
  return key;
}

function tokenOf(handshake: RealtimeSocket['handshake']): string | undefined {
  const auth = handshake.auth as Record<string, unknown> | undefined;
  const fromAuth = typeof auth?.token === 'string' ? auth.token : undefined;
  const header = handshake.headers.authorization;
  const raw = fromAuth ?? (typeof header === 'string' ? header : undefined);
  if (raw === undefined) return undefined;
  const token = raw.replace(/^Bearer\s+/i, '').trim();
  if (token === '') return undefined;
  if (token.length > MAX_TOKEN_LENGTH) throw new HandshakeRefused('Invalid token: too long');
  return token;
}

function claimedUser(payload: JWTPayload): string | undefined {
  for (const claim of [payload.sub, payload.userId]) {
    const id = typeof claim === 'number' && Number.isSafeInteger(claim) ? String(claim) : claim;
    if (typeof id === 'string' && USER_ID_PATTERN.test(id)) return id;
  }
  return undefined;
}

/**
 * An anonymous client's id: its `query.userId` or a generated one. When token users exist
 * (`prefixed`), always `anon-…`, so `query.userId=alice` is `anon-alice`, never the token user alice.
 */
function anonymousUser(requested: unknown, prefixed: boolean): string {
  if (requested === undefined || requested === '') return `${ANONYMOUS_PREFIX}${randomUUID()}`;
  if (typeof requested === 'string') {
    const id = prefixed ? `${ANONYMOUS_PREFIX}${requested}` : requested;
    if (USER_ID_PATTERN.test(id)) return id;
  }
  throw new HandshakeRefused(`Invalid userId: expected 1-${MAX_USER_ID_LENGTH - (prefixed ? ANONYMOUS_PREFIX.length : 0)} characters without spaces or control characters`);
}

function refusalReason(error: unknown): string {
  if (error instanceof HandshakeRefused) return error.message;
  if (error instanceof joseErrors.JWTExpired) return 'Invalid token: expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'exp') return 'Invalid token: no exp claim (tokens must expire)';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `Invalid token: ${error.message}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'Invalid token: bad signature';
  return 'Invalid token';
}
