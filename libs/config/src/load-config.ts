import { z } from 'zod';
import type { AppConfig, LogLevel, MqttConfig } from './app-config.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

const MINUTE = 60_000;

/** Reads one variable through a schema; a bad value names the variable. */
function read<T>(env: Env, name: string, schema: z.ZodType<T>, fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const parsed = schema.safeParse(raw.trim());
  if (!parsed.success) {
    const why = parsed.error.issues[0]?.message ?? 'invalid value';
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: ${why}`);
  }
  return parsed.data;
}

const int = (min: number, max: number) =>
  z.coerce.number({ error: 'expected a number' }).int('expected a whole number').min(min).max(max);
/** Minute values accept decimals: `LOCK_DURATION_MINUTES=0.05` is 3 s. */
const minutes = z.coerce.number({ error: 'expected a number of minutes' }).positive('must be above 0').max(7 * 24 * 60);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' }).transform((v) => ['true', '1', 'yes'].includes(v));
const name = z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'expected a queue/exchange name of [A-Za-z0-9_.:-]');
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `expected a ${protocols.join(' or ')}// URL`);
/** `tcp://host:port`, as a Nest TCP client's options. */
const tcpUrl = z.string().transform((v, ctx) => {
  let parsed: URL | undefined;
  try {
    parsed = new URL(v);
  } catch {
    parsed = undefined;
  }
  const port = Number(parsed?.port);
  if (!parsed || parsed.protocol !== 'tcp:' || !parsed.hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'expected tcp://host:port' });
    return z.NEVER;
  }
  // URL keeps IPv6 brackets; net.connect wants the bare address.
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
});
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Parses CONTRACT §5 from an environment. Throws {@link ConfigError} naming the first bad variable.
 * The only place in the service that looks at environment variables.
 */
export function loadConfig(env: Env): AppConfig {
  const nodeEnv = env.NODE_ENV?.trim() || 'development';
  const production = nodeEnv === 'production';

  const redisUrl = read<string | undefined>(env, 'REDIS_URL', url(['redis:', 'rediss:']), undefined);
  const rabbitmqUrl = read<string | undefined>(env, 'RABBITMQ_URL', url(['amqp:', 'amqps:']), undefined);
  const secret = env.JWT_SECRET?.trim() || undefined;
  // Keys often arrive in one env line with literal "\n".
  const publicKey = env.JWT_PUBLIC_KEY?.trim().replace(/\\n/g, '\n') || undefined;
  if (publicKey !== undefined && !publicKey.includes('-----BEGIN')) {
    throw new ConfigError('JWT_PUBLIC_KEY is invalid: expected a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  const warnings: string[] = [];
  // The original platform ran with short secrets: a development setup keeps working, production does not.
  if (secret !== undefined && secret.length < 16) {
    if (production) throw new ConfigError('JWT_SECRET is invalid: use at least 16 characters when NODE_ENV=production');
    warnings.push('JWT_SECRET is shorter than 16 characters: accepted outside production only; use a longer secret');
  }
  const hasJwtKey = secret !== undefined || publicKey !== undefined;

  if (production && !redisUrl) throw new ConfigError('REDIS_URL is required when NODE_ENV=production');
  if (production && !hasJwtKey) throw new ConfigError('JWT_SECRET or JWT_PUBLIC_KEY is required when NODE_ENV=production');

  const corsRaw = read(env, 'WEBSOCKET_CORS_ORIGIN', z.string(), '*');
  const corsOrigins = corsRaw === '*' ? '*' : corsRaw.split(',').map((o) => o.trim()).filter(Boolean);
  if (corsOrigins === '*' && production) {
    throw new ConfigError('WEBSOCKET_CORS_ORIGIN is invalid: "*" is not allowed when NODE_ENV=production');
  }
  if (corsOrigins !== '*' && corsOrigins.length === 0) {
    throw new ConfigError('WEBSOCKET_CORS_ORIGIN is invalid: expected "*" or a comma-separated list of origins');
  }

  const eventsTcp = read<{ host: string; port: number } | undefined>(env, 'EVENTS_TCP_URL', tcpUrl, undefined);
  const eventsSource = read(env, 'EVENTS_SOURCE', z.enum(['catalog', 'rabbitmq', 'tcp']), eventsTcp ? 'tcp' : rabbitmqUrl ? 'rabbitmq' : 'catalog');
  if (eventsSource === 'rabbitmq' && !rabbitmqUrl) {
    throw new ConfigError('EVENTS_SOURCE is invalid: "rabbitmq" needs RABBITMQ_URL');
  }
  if (eventsSource === 'tcp' && !eventsTcp) {
    throw new ConfigError('EVENTS_SOURCE is invalid: "tcp" needs EVENTS_TCP_URL');
  }

  const mqtt = readMqtt(env);

  const allowAnonymous = read(env, 'WS_ALLOW_ANONYMOUS', bool, !hasJwtKey && !production);
  // Anonymous clients name themselves: never in production (CONTRACT §2).
  if (allowAnonymous && production) throw new ConfigError('WS_ALLOW_ANONYMOUS is invalid: anonymous mode is not allowed when NODE_ENV=production');
  const admissionTokenSecret = env.ADMISSION_TOKEN_SECRET?.trim() || undefined;
  if (admissionTokenSecret !== undefined && admissionTokenSecret.length < 16) {
    throw new ConfigError('ADMISSION_TOKEN_SECRET is invalid: use at least 16 characters');
  }

  const lockDurationMs = read(env, 'LOCK_DURATION_MINUTES', minutes, 5) * MINUTE;
  const maxLifetimeMs = read(env, 'MAX_LOCK_LIFETIME_MINUTES', minutes, 15) * MINUTE;
  if (maxLifetimeMs < lockDurationMs) {
    throw new ConfigError('MAX_LOCK_LIFETIME_MINUTES is invalid: must be at least LOCK_DURATION_MINUTES');
  }

  const config: AppConfig = {
    nodeEnv,
    production,
    port: read(env, 'WEBSOCKET_PORT', int(0, 65535), 8880),
    corsOrigins,
    redisKeyPrefix: read(env, 'REDIS_KEY_PREFIX', z.string().regex(/^[A-Za-z0-9_:-]{1,64}$/, 'expected [A-Za-z0-9_:-]{1,64}'), 'tl'),
    realtimeQueue: read(env, 'REALTIME_QUEUE', name, 'realtime_queue'),
    eventsQueue: read(env, 'EVENTS_QUEUE', name, 'events_queue'),
    lockEventsExchange: read(env, 'LOCK_EVENTS_EXCHANGE', name, 'ticket_locks'),
    eventsSource,
    catalogFile: read(env, 'CATALOG_FILE', z.string().min(1), 'catalog/demo-events.json'),
    eventsTimeoutMs: read(env, 'EVENTS_TIMEOUT_MS', int(1, 600_000), 3000),
    lock: {
      lockDurationMs: Math.round(lockDurationMs),
      maxLifetimeMs: Math.round(maxLifetimeMs),
      maxActiveLocksPerUser: read(env, 'MAX_ACTIVE_LOCKS_PER_USER', int(1, 1000), 5),
      maxTicketsPerLock: read(env, 'MAX_TICKETS_PER_LOCK', int(1, 10_000), 10),
      retentionMs: Math.round(read(env, 'LOCK_RETENTION_MINUTES', minutes, 60) * MINUTE),
      seatOrphanRule: read(env, 'SEAT_ORPHAN_RULE', z.enum(['off', 'reject'], { error: 'expected off or reject' }), 'off'),
    },
    cleanupIntervalMs: Math.max(100, Math.round(read(env, 'CLEANUP_INTERVAL_MINUTES', minutes, 1) * MINUTE)),
    disconnectGraceMs: read(env, 'DISCONNECT_GRACE_SECONDS', int(0, 86_400), 10) * 1000,
    broadcastIntervalMs: read(env, 'BROADCAST_INTERVAL_MS', int(0, 60_000), 100),
    rateLimitPerMinute: read(env, 'RATE_LIMIT_PER_MINUTE', int(0, 1_000_000), 120),
    maxPayloadBytes: read(env, 'MAX_PAYLOAD_BYTES', int(256, 100 * 1024 * 1024), 16384),
    maxSocketBufferBytes: read(env, 'WS_MAX_BUFFERED_BYTES', int(16 * 1024, 1024 * 1024 * 1024), 1024 * 1024),
    jwt: { ...(secret ? { secret } : {}), ...(publicKey ? { publicKey } : {}), requireExp: read(env, 'JWT_REQUIRE_EXP', bool, true) },
    allowAnonymous,
    logLevel: read<LogLevel>(env, 'LOG_LEVEL', logLevel, 'info'),
    warnings,
    waitingRoom: {
      // Decimals allowed, like the minute values (tests use short ones).
      abandonMs: Math.round(read(env, 'QUEUE_ABANDON_SECONDS', z.coerce.number({ error: 'expected a number of seconds' }).positive('must be above 0').max(7 * 86_400), 120) * 1000),
      ...(admissionTokenSecret ? { tokenSecret: admissionTokenSecret } : {}),
    },
  };
  if (eventsTcp) config.eventsTcp = eventsTcp;
  if (redisUrl) config.redisUrl = redisUrl;
  if (rabbitmqUrl) config.rabbitmqUrl = rabbitmqUrl;
  if (mqtt) config.mqtt = mqtt;
  return config;
}

/** A topic prefix is used as given, so it must not carry wildcards or control characters. */
const topicPrefix = z.string().regex(/^[^+#\p{Cc}]{0,100}$/u, 'expected up to 100 characters without +, # or control characters');

function readMqtt(env: Env): MqttConfig | undefined {
  const mqttUrl = read<string | undefined>(env, 'MQTT_URL', url(['mqtt:', 'mqtts:', 'ws:', 'wss:']), undefined);
  const acceptRequests = read(env, 'MQTT_ACCEPT_REQUESTS', bool, false);
  // An empty prefix is the default; read() treats '' as unset anyway.
  const prefix = read(env, 'MQTT_TOPIC_PREFIX', topicPrefix, '');
  if (!mqttUrl) {
    if (acceptRequests) throw new ConfigError('MQTT_ACCEPT_REQUESTS is invalid: it needs MQTT_URL');
    return undefined;
  }
  return { url: mqttUrl, topicPrefix: prefix, acceptRequests };
}
