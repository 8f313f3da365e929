import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '#config';
import { RedisOutbox } from '#lock-store';
import { REDIS } from '../locks/lock-store.module.js';
import { LockChangesBus } from '../locks/lock-changes.js';
import { INSTANCE_ID } from '../observability/instance-id.js';
import { ShutdownSteps } from '../shutdown/shutdown-steps.js';
import type { LifecycleSink } from './lifecycle-sink.js';
import { InMemoryOutbox, type Outbox } from './outbox.js';
import { SinkRelay } from './sink-relay.js';

/**
 * Runs one relay per registered {@link LifecycleSink} over the outbox: with Redis, the stream the
 * lock scripts append to in the same atomic step as each transition; without Redis, an in-memory
 * queue fed from the changes bus. Transport modules register their sink during `onModuleInit`; the
 * relays start once the application is up.
 */
@Injectable()
export class LifecycleRelays implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('LifecycleRelays');
  private readonly sinks: LifecycleSink[] = [];
  private readonly relays = new Map<string, SinkRelay>();
  private relayRedis: Redis | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis | null,
    private readonly bus: LockChangesBus,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
    private readonly shutdown: ShutdownSteps,
  ) {}

  onModuleInit(): void {
    this.shutdown.register({ name: 'lifecycle: send the last outbox batches', phase: 'flush', run: () => this.stop() });
  }

  register(sink: LifecycleSink): void {
    if (this.relays.size > 0) throw new Error(`lifecycle sink ${sink.name} registered after the relays started`);
    if (this.sinks.some((known) => known.name === sink.name)) throw new Error(`lifecycle sink ${sink.name} registered twice`);
    this.sinks.push(sink);
  }

  onApplicationBootstrap(): void {
    if (this.sinks.length === 0) return;
    const names = this.sinks.map((sink) => sink.name);
    let outbox: Outbox;
    let memory: InMemoryOutbox | undefined;
    let stream: RedisOutbox | undefined;
    if (this.redis) {
      // Its own connection: a batch read never queues in front of the lock scripts.
      this.relayRedis = this.redis.duplicate({ lazyConnect: false });
      // ioredis reconnects by itself; a failed read is retried by the relay.
      this.relayRedis.on('error', (error: Error) => this.logger.debug(`outbox connection: ${error.message}`));
      // Our store stamps our instance id on what it appends: those entries are not read back.
      stream = new RedisOutbox(this.relayRedis, this.config.redisKeyPrefix, names, this.instanceId);
      outbox = stream;
    } else {
      memory = new InMemoryOutbox(names);
      outbox = memory;
    }
    for (const sink of this.sinks) this.relays.set(sink.name, new SinkRelay(outbox, sink, { owner: this.instanceId }));
    this.unsubscribe = this.bus.subscribe((changes) => {
      if (changes.transitions.length === 0) return;
      if (memory) for (const { event, lock } of changes.transitions) memory.append({ event, lock });
      // Only a lease holder publishes (and so needs the bodies of what this instance appended);
      // waking another would cost it a failed lease attempt per change.
      let remembered = false;
      for (const relay of this.relays.values()) {
        if (!relay.leading) continue;
        if (!remembered) stream?.remember(changes.transitions);
        remembered = true;
        relay.notify();
      }
    });
    for (const relay of this.relays.values()) relay.start();
  }

  /** The sink's transport is back: send what waited now rather than at the next retry. */
  wake(sink: string): void {
    this.relays.get(sink)?.notify();
  }

  /**
   * Lets each relay finish the batch in flight (what is not taken stays in the outbox for the next
   * relay) and gives up the leases. The sinks' transports are closed by their owners afterwards.
   */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await Promise.all([...this.relays.values()].map((relay) => relay.stop()));
    if (this.relayRedis && this.relayRedis.status !== 'end') await this.relayRedis.quit().catch(() => undefined);
  }
}
