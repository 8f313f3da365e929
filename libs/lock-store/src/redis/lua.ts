/**
 * The Lua scripts of the Redis lock store, by operation: each is the shared prelude (calling
 * convention, keys, helpers, replies — see lua/prelude.ts) followed by one operation's body from
 * its own file in lua/. One call = one EVALSHA = one atomic step.
 *
 * The scripts are TypeScript modules holding Lua in template strings rather than .lua files, so the
 * build, the tests and the bench load them like any other module (no assets to copy) and the
 * prelude can name its keys from redis-keys.ts.
 */
import { ACTIVE_LOCKS } from './lua/active-locks.js';
import { AVAILABILITY } from './lua/availability.js';
import { CONFIRM } from './lua/confirm.js';
import { DEFINE_EVENT } from './lua/define-event.js';
import { EVENTS } from './lua/events.js';
import { EXTEND } from './lua/extend.js';
import { FOLLOW_LEDGER } from './lua/follow-ledger.js';
import { GET } from './lua/get.js';
import { HOLD_SEATS } from './lua/hold-seats.js';
import { LOCK } from './lua/lock.js';
import { withPrelude } from './lua/prelude.js';
import { RELEASE } from './lua/release.js';
import { RELEASE_SESSION } from './lua/release-session.js';
import { SEAT_LAYOUT, SEAT_MAP } from './lua/seat-map.js';
import { SET_CATEGORY_TOTAL } from './lua/set-category-total.js';
import { STATS } from './lua/stats.js';
import { SWEEP } from './lua/sweep.js';
import { UNLOCK } from './lua/unlock.js';
import { UNLOCK_SEATS } from './lua/unlock-seats.js';

export { HEADER_ARGS } from './lua/prelude.js';

/** One script per store operation (prelude included). */
export const SCRIPTS = {
  defineEvent: withPrelude(DEFINE_EVENT),
  events: withPrelude(EVENTS),
  lock: withPrelude(LOCK),
  unlock: withPrelude(UNLOCK),
  extend: withPrelude(EXTEND),
  confirm: withPrelude(CONFIRM),
  release: withPrelude(RELEASE),
  releaseSession: withPrelude(RELEASE_SESSION),
  get: withPrelude(GET),
  activeLocks: withPrelude(ACTIVE_LOCKS),
  availability: withPrelude(AVAILABILITY),
  setCategoryTotal: withPrelude(SET_CATEGORY_TOTAL),
  followLedger: withPrelude(FOLLOW_LEDGER),
  sweep: withPrelude(SWEEP),
  stats: withPrelude(STATS),
  // Reserved seating (CONTRACT §6).
  holdSeats: withPrelude(HOLD_SEATS),
  unlockSeats: withPrelude(UNLOCK_SEATS),
  seatMap: withPrelude(SEAT_MAP),
  seatLayout: withPrelude(SEAT_LAYOUT),
} as const;

export type ScriptName = keyof typeof SCRIPTS;
