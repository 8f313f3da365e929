import { InProcessLockStore } from './in-process-lock-store.js';
import { InProcessWaitingRoom } from './in-process-waiting-room.js';
import { POLICY } from '../contract/index.js';
import { waitingRoomContract } from '../waiting-room.contract.js';

waitingRoomContract('InProcessWaitingRoom', async () => {
  let locks: InProcessLockStore | undefined;
  const rooms = new InProcessWaitingRoom({ soldOut: (eventKey) => locks?.isSoldOut(eventKey) ?? false });
  locks = new InProcessLockStore(POLICY, Date.now, rooms);
  return { rooms, locks };
});
