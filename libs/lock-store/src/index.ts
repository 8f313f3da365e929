export { InProcessLockStore } from './memory/in-process-lock-store.js';
export { RedisLockChangeFeed, type RedisLockChangeFeedOptions } from './redis/redis-change-feed.js';
export { RedisLockStore, type RedisLockStoreOptions } from './redis/redis-lock-store.js';
export { RedisOutbox, type OutboxBatch, type OutboxEntry } from './redis/redis-outbox.js';
export { watchOutages, type OutageListener } from './redis/outages.js';
export { catalogMarkerKey } from './redis/redis-keys.js';
export { InProcessWaitingRoom, type InProcessWaitingRoomOptions } from './memory/in-process-waiting-room.js';
export { RedisWaitingRoom, type RedisWaitingRoomOptions } from './redis/redis-waiting-room.js';
