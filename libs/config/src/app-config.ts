import type { LockPolicy } from '#lock-domain';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The whole configuration, parsed and validated once at start-up (CONTRACT §5). */
export interface AppConfig {
  nodeEnv: string;
  production: boolean;
  /** `WEBSOCKET_PORT`: HTTP and Socket.IO share it. */
  port: number;
  /** `WEBSOCKET_CORS_ORIGIN`: `'*'` or an allow-list of exact origins. */
  corsOrigins: '*' | string[];
  /** Absent: the in-process store (zero-configuration mode). */
  redisUrl?: string;
  /**
   * `REDIS_KEY_PREFIX` (default `tl`): the hash tag every key of the lock store lives under, so
   * several deployments (or test runs) can share one Redis without touching each other's keys.
   */
  redisKeyPrefix: string;
  /** Absent: no RabbitMQ transport, catalog file only. */
  rabbitmqUrl?: string;
  realtimeQueue: string;
  eventsQueue: string;
  lockEventsExchange: string;
  /** `catalog` (file), `rabbitmq` (Events service on `EVENTS_QUEUE`) or `tcp` (the original events-service, `EVENTS_TCP_URL`). */
  eventsSource: 'catalog' | 'rabbitmq' | 'tcp';
  /** `EVENTS_TCP_URL` (`tcp://host:port`): the Events service over Nest TCP; set → `EVENTS_SOURCE=tcp`. */
  eventsTcp?: { host: string; port: number };
  catalogFile: string;
  eventsTimeoutMs: number;
  lock: LockPolicy;
  cleanupIntervalMs: number;
  disconnectGraceMs: number;
  broadcastIntervalMs: number;
  /** `0` turns the limit off. */
  rateLimitPerMinute: number;
  maxPayloadBytes: number;
  /**
   * `WS_MAX_BUFFERED_BYTES` (default 1 MiB): what one socket may have waiting to be written (a slow
   * reader); past it the socket is disconnected, so one client cannot grow the server's memory.
   */
  maxSocketBufferBytes: number;
  /** `requireExp` (`JWT_REQUIRE_EXP`, default true): a token without `exp` is refused. */
  jwt: { secret?: string; publicKey?: string; requireExp: boolean };
  allowAnonymous: boolean;
  logLevel: LogLevel;
  /** `MQTT_URL` and friends (CONTRACT §8); absent: no MQTT bridge. */
  mqtt?: MqttConfig;
  /** Accepted but doubtful settings (e.g. a short `JWT_SECRET` outside production), logged at start-up. */
  warnings: string[];
  /** Waiting rooms (CONTRACT §7). */
  waitingRoom: {
    /** `QUEUE_ABANDON_SECONDS`: a waiting user with no connected socket this long is skipped at their turn. */
    abandonMs: number;
    /** `ADMISSION_TOKEN_SECRET`: signs admission tokens (HS256). Absent: see waiting-room/admission-tokens.ts. */
    tokenSecret?: string;
  };
}

/** The MQTT bridge's settings (CONTRACT §8). */
export interface MqttConfig {
  /**
   * `MQTT_URL`: the broker, `mqtt://`, `mqtts://`, `ws://` or `wss://`; credentials in the URL
   * (`mqtt://user:password@host:1883`) are the service's broker login.
   */
  url: string;
  /** `MQTT_TOPIC_PREFIX` (default empty): put in front of every topic exactly as given (`tenant1/`). */
  topicPrefix: string;
  /**
   * `MQTT_ACCEPT_REQUESTS` (default `false`): subscribe `booking/request/+` and hold seats for them.
   * Only safe behind a broker ACL that lets a client write its own `booking/request/{userId}` only.
   */
  acceptRequests: boolean;
}

/** DI token under which the parsed {@link AppConfig} is provided. */
export const APP_CONFIG = Symbol('APP_CONFIG');
