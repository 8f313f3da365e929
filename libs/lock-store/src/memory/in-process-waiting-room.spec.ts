import { InProcessLockStore } from './in-process-lock-store.js';
import { InProcessWaitingRoom } from './in-process-waiting-room.js';
import { POLICY } from '../contract/index.js';
import { waitingRoomContract } from '../waiting-room.contract.js';

waitingRoomContract('InProcessWaitingRoom', async () => {
  const ref: { locks?: InProcessLockStore } = {};
  const rooms = new InProcessWaitingRoom({ soldOut: (eventKey) => ref.locks?.isSoldOut(eventKey) ?? false,
    catalogId: (eventKey) => ref.locks?.catalogIdOf(eventKey),
  });
  const locks = new InProcessLockStore(POLICY, Date.now, rooms);
  ref.locks = locks;
  return { rooms, locks };
});
