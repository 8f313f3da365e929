import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';

describe('loadConfig', () => {
  it('runs with no configuration at all: contract defaults, zero-config mode', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8880);
    expect(c.corsOrigins).toBe('*');
    expect(c.redisUrl).toBeUndefined();
    expect(c.rabbitmqUrl).toBeUndefined();
    expect(c.eventsSource).toBe('catalog');
    expect(c.allowAnonymous).toBe(true);
    expect(c.lock).toEqual({
      lockDurationMs: 300_000,
      maxLifetimeMs: 900_000,
      maxActiveLocksPerUser: 5,
      maxTicketsPerLock: 10,
      retentionMs: 3_600_000,
      seatOrphanRule: 'off',
    });
    expect(c).toMatchObject({
      realtimeQueue: 'realtime_queue',
      eventsQueue: 'events_queue',
      lockEventsExchange: 'ticket_locks',
      eventsTimeoutMs: 3000,
      cleanupIntervalMs: 60_000,
      disconnectGraceMs: 10_000,
      broadcastIntervalMs: 100,
      rateLimitPerMinute: 120,
      maxPayloadBytes: 16384,
      logLevel: 'info',
    });
  });

  it('waiting room: QUEUE_ABANDON_SECONDS (default 120, decimals allowed) and ADMISSION_TOKEN_SECRET', () => {
    expect(loadConfig({}).waitingRoom).toEqual({ abandonMs: 120_000 });
    expect(loadConfig({ QUEUE_ABANDON_SECONDS: '1.5', ADMISSION_TOKEN_SECRET: 'admission-secret-0123' }).waitingRoom).toEqual({
      abandonMs: 1500,
      tokenSecret: 'admission-secret-0123',
    });
  });

  it('accepts decimal minutes', () => {
    expect(loadConfig({ LOCK_DURATION_MINUTES: '0.05' }).lock.lockDurationMs).toBe(3000);
  });

  it.each([
    ['WEBSOCKET_PORT', 'abc'],
    ['WEBSOCKET_PORT', '70000'],
    ['LOCK_DURATION_MINUTES', '-1'],
    ['LOCK_DURATION_MINUTES', 'five'],
    ['MAX_TICKETS_PER_LOCK', '2.5'],
    ['REDIS_URL', 'http://localhost'],
    ['RABBITMQ_URL', 'not a url'],
    ['WS_ALLOW_ANONYMOUS', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['EVENTS_SOURCE', 'kafka'],
    ['REALTIME_QUEUE', 'bad queue name'],
    ['QUEUE_ABANDON_SECONDS', '0'],
    ['QUEUE_ABANDON_SECONDS', 'soon'],
    ['ADMISSION_TOKEN_SECRET', 'short'],
    ['EVENTS_TCP_URL', 'http://127.0.0.1:8879'],
    ['EVENTS_TCP_URL', 'tcp://127.0.0.1'],
  ])('stops on a bad %s and names it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}`));
  });

  it('anonymous mode defaults off once a JWT key is configured or in production', () => {
    expect(loadConfig({ JWT_SECRET: 'a-long-enough-secret' }).allowAnonymous).toBe(false);
    const prod = loadConfig({
      NODE_ENV: 'production',
      REDIS_URL: 'redis://r:6379',
      JWT_SECRET: 'a-long-enough-secret',
      WEBSOCKET_CORS_ORIGIN: 'https://shop.example',
    });
    expect(prod.allowAnonymous).toBe(false);
    expect(prod.corsOrigins).toEqual(['https://shop.example']);
  });

  it('refuses anonymous mode in production', () => {
    const prod = { NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', JWT_SECRET: 'a-long-enough-secret', WEBSOCKET_CORS_ORIGIN: 'https://shop.example' };
    expect(() => loadConfig({ ...prod, WS_ALLOW_ANONYMOUS: 'true' })).toThrow(/^WS_ALLOW_ANONYMOUS is invalid: anonymous mode is not allowed when NODE_ENV=production/);
    expect(loadConfig({ ...prod, WS_ALLOW_ANONYMOUS: 'false' }).allowAnonymous).toBe(false);
    expect(loadConfig({ JWT_SECRET: 'a-long-enough-secret', WS_ALLOW_ANONYMOUS: 'true' }).allowAnonymous).toBe(true);
  });

  it('JWT_REQUIRE_EXP defaults to true; WS_MAX_BUFFERED_BYTES to 1 MiB', () => {
    expect(loadConfig({}).jwt.requireExp).toBe(true);
    expect(loadConfig({ JWT_REQUIRE_EXP: 'false' }).jwt.requireExp).toBe(false);
    expect(() => loadConfig({ JWT_REQUIRE_EXP: 'maybe' })).toThrow(/^JWT_REQUIRE_EXP/);
    expect(loadConfig({}).maxSocketBufferBytes).toBe(1024 * 1024);
    expect(loadConfig({ WS_MAX_BUFFERED_BYTES: '65536' }).maxSocketBufferBytes).toBe(65536);
    expect(() => loadConfig({ WS_MAX_BUFFERED_BYTES: '10' })).toThrow(/^WS_MAX_BUFFERED_BYTES/);
  });

  it('production requires Redis, a JWT key and a CORS allow-list', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-long-enough-secret' })).toThrow(/^REDIS_URL/);
    expect(() => loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r' })).toThrow(/^JWT_SECRET/);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r', JWT_SECRET: 'a-long-enough-secret' }),
    ).toThrow(/^WEBSOCKET_CORS_ORIGIN/);
  });

  it('EVENTS_SOURCE defaults to rabbitmq when RabbitMQ is configured, and rabbitmq needs it', () => {
    expect(loadConfig({ RABBITMQ_URL: 'amqp://localhost' }).eventsSource).toBe('rabbitmq');
    expect(() => loadConfig({ EVENTS_SOURCE: 'rabbitmq' })).toThrow(/^EVENTS_SOURCE/);
  });

  it('EVENTS_TCP_URL selects the original events-service over Nest TCP', () => {
    const c = loadConfig({ EVENTS_TCP_URL: 'tcp://127.0.0.1:8879', RABBITMQ_URL: 'amqp://localhost' });
    expect(c.eventsSource).toBe('tcp');
    expect(c.eventsTcp).toEqual({ host: '127.0.0.1', port: 8879 });
    expect(loadConfig({ EVENTS_TCP_URL: 'tcp://[::1]:9000' }).eventsTcp).toEqual({ host: '::1', port: 9000 });
    expect(() => loadConfig({ EVENTS_SOURCE: 'tcp' })).toThrow(/^EVENTS_SOURCE/);
  });

  it('a JWT_SECRET under 16 characters: refused in production, accepted with a warning otherwise', () => {
    const prod = { NODE_ENV: 'production', REDIS_URL: 'redis://r', WEBSOCKET_CORS_ORIGIN: 'https://shop.example' };
    expect(() => loadConfig({ ...prod, JWT_SECRET: 'short-secret' })).toThrow(/^JWT_SECRET.*16/);
    expect(loadConfig({ ...prod, JWT_SECRET: 'a-long-enough-secret' }).warnings).toEqual([]);
    const dev = loadConfig({ JWT_SECRET: 'short-secret' });
    expect(dev.jwt.secret).toBe('short-secret');
    expect(dev.warnings).toEqual([expect.stringMatching(/^JWT_SECRET .*16/)]);
  });

  it('refuses a lifetime shorter than the lock duration', () => {
    expect(() => loadConfig({ LOCK_DURATION_MINUTES: '10', MAX_LOCK_LIFETIME_MINUTES: '5' })).toThrow(
      /^MAX_LOCK_LIFETIME_MINUTES/,
    );
  });

  it('MQTT: unset means no bridge; MQTT_URL, MQTT_TOPIC_PREFIX as given, MQTT_ACCEPT_REQUESTS off by default', () => {
    expect(loadConfig({}).mqtt).toBeUndefined();
    expect(loadConfig({ MQTT_URL: 'mqtt://127.0.0.1:1883' }).mqtt).toEqual({ url: 'mqtt://127.0.0.1:1883', topicPrefix: '', acceptRequests: false });
    expect(loadConfig({ MQTT_URL: 'ws://user:pw@broker:9001', MQTT_TOPIC_PREFIX: 'tenant1/', MQTT_ACCEPT_REQUESTS: 'true' }).mqtt).toEqual({
      url: 'ws://user:pw@broker:9001',
      topicPrefix: 'tenant1/',
      acceptRequests: true,
    });
    expect(() => loadConfig({ MQTT_URL: 'http://broker' })).toThrow(/^MQTT_URL/);
    expect(() => loadConfig({ MQTT_URL: 'mqtt://broker', MQTT_TOPIC_PREFIX: 'a/#/' })).toThrow(/^MQTT_TOPIC_PREFIX/);
    expect(() => loadConfig({ MQTT_ACCEPT_REQUESTS: 'true' })).toThrow(/^MQTT_ACCEPT_REQUESTS/);
    expect(() => loadConfig({ MQTT_URL: 'mqtt://broker', MQTT_ACCEPT_REQUESTS: 'maybe' })).toThrow(/^MQTT_ACCEPT_REQUESTS/);
  });

  it('SEAT_ORPHAN_RULE is off or reject', () => {
    expect(loadConfig({ SEAT_ORPHAN_RULE: 'reject' }).lock.seatOrphanRule).toBe('reject');
    expect(() => loadConfig({ SEAT_ORPHAN_RULE: 'maybe' })).toThrow(/^SEAT_ORPHAN_RULE/);
  });
});
