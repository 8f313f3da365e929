import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { TEST_REDIS_URL, uniqueName } from '../../../../test/support/services.js';
import { POLICY } from '../contract/index.js';
import { waitingRoomContract } from '../waiting-room.contract.js';
import { keyBase } from './redis-keys.js';
import { RedisLockStore } from './redis-lock-store.js';
import { RedisWaitingRoom } from './redis-waiting-room.js';

const prefixes: string[] = [];

afterAll(async () => {
  const admin = new Redis(TEST_REDIS_URL);
  for (const prefix of prefixes) {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyBase(prefix)}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  }
  await admin.quit();
});

waitingRoomContract('RedisWaitingRoom', async () => {
  const keyPrefix = uniqueName('wr-test');
  prefixes.push(keyPrefix);
  return {
    rooms: new RedisWaitingRoom({ redis: TEST_REDIS_URL, keyPrefix }),
    locks: new RedisLockStore({ redis: TEST_REDIS_URL, policy: POLICY, keyPrefix }),
  };
});

// The same contract with early joiners moved into the queue 7 at a time: places, ahead counts and
// admission order must not tell the difference.
waitingRoomContract('RedisWaitingRoom (placement in chunks of 7)', async () => {
  const keyPrefix = uniqueName('wr-test');
  prefixes.push(keyPrefix);
  return {
    rooms: new RedisWaitingRoom({ redis: TEST_REDIS_URL, keyPrefix, placementChunk: 7 }),
    locks: new RedisLockStore({ redis: TEST_REDIS_URL, policy: POLICY, keyPrefix }),
  };
});
