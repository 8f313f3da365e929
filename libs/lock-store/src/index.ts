export { InProcessLockStore } from './memory/in-process-lock-store.js';
export { RedisLockStore, type RedisLockStoreOptions } from './redis/redis-lock-store.js';
