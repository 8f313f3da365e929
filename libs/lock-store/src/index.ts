export { InProcessLockStore } from './memory/in-process-lock-store.js';
export { RedisLockStore, type RedisLockStoreOptions } from './redis/redis-lock-store.js';
export { RedisOutbox, type OutboxEntry } from './redis/redis-outbox.js';
