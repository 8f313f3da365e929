import { afterAll } from 'vitest';
import { TEST_REDIS_URL, dropKeys, uniqueName } from '../../../../test/support/services.js';
import { POLICY } from '../contract/index.js';
import { waitingRoomContract } from '../waiting-room.contract.js';
import { RedisLockStore } from './redis-lock-store.js';
import { RedisWaitingRoom } from './redis-waiting-room.js';

const prefixes: string[] = [];

afterAll(async () => {
  for (const prefix of prefixes) await dropKeys(prefix);
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
