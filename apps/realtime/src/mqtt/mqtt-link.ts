import { Logger } from '@nestjs/common';
import { connect, type MqttClient } from 'mqtt';
import { errorMessage } from '../common/error-message.js';
import { redactUrl } from '../common/redact-url.js';

/** Options of the {@link MqttLink}. */
export interface MqttLinkOptions {
  /** `MQTT_URL`; credentials in the URL are the service's broker login. */
  url: string;
  /** Unique per instance: a broker drops an older connection with the same client id. */
  clientId: string;
  /** `MQTT_TOPIC_PREFIX`, put in front of every topic exactly as given. */
  topicPrefix: string;
  /** Non-retained messages kept while the broker is away (the oldest are dropped beyond it). Default 1000. */
  bufferLimit?: number;
  /**
   * Publishes sent but not acknowledged by the broker, beyond which messages wait in the buffer
   * instead (a hung broker must not grow memory without bound). Default 1000.
   */
  maxInflight?: number;
  /** Pause between reconnection attempts, ms. Default 1000. */
  reconnectMs?: number;
  /** Told on every (re)connection, after the buffer went out. */
  onConnect?: () => void;
  /** Told when the connection is lost. */
  onDisconnect?: () => void;
  /** Told of a message dropped because the buffer was full (its topic). */
  onDropped?: (topic: string) => void;
  /** Told of every message handed to the broker (its topic). */
  onSent?: (topic: string) => void;
}

type Handler = (topic: string, payload: Buffer) => void;

/**
 * `state`: derived from the store and republished by its publisher after any reconnection, so it is
 * dropped rather than kept while the broker is away (an old copy sent late could overwrite a newer
 * retained one). `message`: an answer or notice nobody resends, kept in the bounded buffer.
 */
export type MessageKind = 'state' | 'message';

interface Outgoing {
  topic: string;
  payload: string;
  retain: boolean;
  kind: MessageKind;
}

/**
 * The service's MQTT connection (mqtt.js v5): QoS 1, reconnects by itself, never makes a caller
 * wait. {@link send} hands a message over and returns; while the broker is away (or not keeping up)
 * messages wait in a bounded buffer that goes out in order on reconnection.
 *
 * Each connection is a fresh mqtt.js client (its own reconnection is off): mqtt.js would otherwise
 * resend, after a reconnection, retained messages that were in flight at the cut, possibly after
 * another instance had published newer ones. Here unacknowledged `message`s go back to the front of
 * the buffer and unacknowledged `state` is dropped (its publisher republishes the latest).
 */
export class MqttLink {
  private readonly logger = new Logger('Mqtt');
  private readonly bufferLimit: number;
  private readonly maxInflight: number;
  private readonly reconnectMs: number;
  private readonly buffer: Outgoing[] = [];
  private readonly handlers = new Map<string, { handler: Handler; share: string | undefined }>();
  private client: MqttClient | undefined;
  /** Messages the current client sent and the broker has not acknowledged yet. */
  private readonly inflight = new Set<Outgoing>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private everConnected = false;
  private up = false;
  private closed = false;
  private outageLogged = false;

  constructor(private readonly options: MqttLinkOptions) {
    this.bufferLimit = options.bufferLimit ?? 1000;
    this.maxInflight = options.maxInflight ?? 1000;
    this.reconnectMs = options.reconnectMs ?? 1000;
  }

  start(): void {
    if (this.client || this.closed) return;
    this.open();
  }

  get connected(): boolean {
    return this.up;
  }

  /** Publishes now if the broker takes it, else keeps it (bounded) or drops it (`state` while away). Never throws, never waits. */
  send(topic: string, payload: unknown, options: { retain?: boolean; kind?: MessageKind } = {}): void {
    const message: Outgoing = { topic, payload: JSON.stringify(payload), retain: options.retain ?? false, kind: options.kind ?? 'message' };
    if (this.buffer.length === 0 && this.flowing()) {
      this.write(message);
      return;
    }
    if (message.kind === 'state' && !this.up) return;
    this.buffer.push(message);
    if (this.buffer.length > this.bufferLimit) {
      const dropped = this.buffer.shift();
      if (dropped) this.options.onDropped?.(dropped.topic);
    }
  }

  /** Forgets buffered `state` (its publisher stepped down: what it queued may be outdated by the next one). */
  dropState(): void {
    const kept = this.buffer.filter((message) => message.kind !== 'state');
    this.buffer.length = 0;
    this.buffer.push(...kept);
  }

  /**
   * Publishes and resolves once the broker acknowledged it (QoS 1); rejects at once when the broker
   * is away, or when the connection drops first. For senders that keep the message themselves until
   * it is through (lifecycle sinks).
   */
  publishAcked(topic: string, payload: unknown, retain = false): Promise<void> {
    const client = this.client;
    if (!client || !this.up) return Promise.reject(new Error('MQTT broker not connected'));
    return new Promise((resolve, reject) => {
      client.publish(`${this.options.topicPrefix}${topic}`, JSON.stringify(payload), { qos: 1, retain }, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /**
   * Subscribes `filter` (relative to the prefix) on every connection; `share` makes it a shared
   * subscription (`$share/<share>/…`), so each message goes to one instance of the group. The handler
   * gets topics without the prefix.
   */
  subscribe(filter: string, handler: Handler, share?: string): void {
    this.handlers.set(filter, { handler, share });
    if (this.client && this.up) this.subscribeOn(this.client, filter, share);
  }

  /** Messages waiting in the buffer (metrics, tests). */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Sends what the buffer holds (best effort, up to `graceMs`), then disconnects. */
  async close(graceMs = 1000): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.up = false;
    if (!client) return;
    if (client.connected) {
      for (const message of this.buffer.splice(0)) {
        client.publish(`${this.options.topicPrefix}${message.topic}`, message.payload, { qos: 1, retain: message.retain }, () => undefined);
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => client.end(true, () => resolve()), graceMs);
      timer.unref();
      client.end(false, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private open(): void {
    const client = connect(this.options.url, {
      clientId: this.options.clientId,
      protocolVersion: 5,
      clean: true,
      // Reconnection is done here, with a new client each time (see the class comment).
      reconnectPeriod: 0,
      connectTimeout: 5000,
      keepalive: 10,
      queueQoSZero: false,
    });
    this.client = client;
    client.on('connect', () => {
      if (client !== this.client) return;
      if (this.everConnected) this.logger.log('MQTT broker connection restored');
      else this.logger.log(`MQTT broker connected at ${redactUrl(this.options.url)}`);
      this.everConnected = true;
      this.outageLogged = false;
      this.up = true;
      for (const [filter, { share }] of this.handlers) this.subscribeOn(client, filter, share);
      this.flush();
      this.options.onConnect?.();
    });
    client.on('close', () => this.lost(client));
    client.on('error', (error) => {
      // Refused logins and the like; the close that follows schedules the next attempt.
      if (!this.outageLogged) this.logger.warn(`MQTT: ${error.message}`);
      this.outageLogged = true;
    });
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
  }

  private lost(client: MqttClient): void {
    if (client !== this.client) return;
    client.removeAllListeners('connect');
    client.end(true);
    this.client = undefined;
    const wasUp = this.up;
    this.up = false;
    // Unacknowledged messages go first next time; unacknowledged state is republished by its owner.
    const unacked = [...this.inflight].filter((message) => message.kind === 'message');
    this.inflight.clear();
    this.buffer.unshift(...unacked);
    for (const dropped of this.buffer.splice(0, Math.max(0, this.buffer.length - this.bufferLimit))) this.options.onDropped?.(dropped.topic);
    if (wasUp) {
      if (!this.outageLogged) this.logger.warn('MQTT broker connection lost; reconnecting');
      this.outageLogged = true;
      this.options.onDisconnect?.();
    }
    if (this.closed) return;
    this.reconnectTimer = setTimeout(() => this.open(), this.reconnectMs);
    this.reconnectTimer.unref();
  }

  private subscribeOn(client: MqttClient, filter: string, share: string | undefined): void {
    const full = `${this.options.topicPrefix}${filter}`;
    const topic = share ? `$share/${share}/${full}` : full;
    client.subscribe(topic, { qos: 1 }, (error, granted) => {
      if (error) this.logger.warn(`MQTT subscribe ${topic}: ${error.message}`);
      else if (granted?.some((g) => g.qos >= 128)) this.logger.warn(`MQTT subscribe ${topic} refused by the broker (ACL?)`);
    });
  }

  private dispatch(topic: string, payload: Buffer): void {
    if (!topic.startsWith(this.options.topicPrefix)) return;
    const local = topic.slice(this.options.topicPrefix.length);
    for (const [filter, { handler }] of this.handlers) {
      if (!matches(filter, local)) continue;
      try {
        handler(local, payload);
      } catch (error) {
        this.logger.warn(`MQTT message on ${topic} not handled: ${errorMessage(error)}`);
      }
    }
  }

  private flowing(): boolean {
    return this.up && this.inflight.size < this.maxInflight;
  }

  private flush(): void {
    while (this.buffer.length > 0 && this.flowing()) {
      const message = this.buffer.shift();
      if (message) this.write(message);
    }
  }

  private write(message: Outgoing): void {
    const client = this.client;
    if (!client) return;
    this.inflight.add(message);
    this.options.onSent?.(message.topic);
    client.publish(`${this.options.topicPrefix}${message.topic}`, message.payload, { qos: 1, retain: message.retain }, (error) => {
      if (client !== this.client) return;
      this.inflight.delete(message);
      if (error) this.logger.debug(`MQTT publish on ${message.topic} failed: ${error.message}`);
      // Room again after a slow broker caught up: what waited goes next, in order.
      if (this.buffer.length > 0) this.flush();
    });
  }
}

/** MQTT topic filter matching (`+` one level, `#` the rest). */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
