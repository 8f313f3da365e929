/**
 * Redis key layout of the lock store, in one place. Every key is `{<prefix>}:<name>` so all of them
 * hash to one Cluster slot (the `{…}` hash tag) and each Lua script may touch any of them.
 *
 * Scripts get the tagged base (`{tl}`) as KEYS[1] and derive the rest from it with the names below
 * (interpolated into the Lua prelude, so TypeScript and Lua cannot disagree).
 *
 * Variable parts come last and every name is followed by `:`, so no two kinds of key can collide.
 * A category is named by `ref = <len(eventKey)>:<eventKey>:<categoryKey>`: ids may contain `:`,
 * the length prefix keeps (`a:b`, `c`) and (`a`, `b:c`) apart.
 */
export const KEY = {
  /** LIST of event keys in definition order. */
  events: 'events',
  /** HASH per event: `id`, `idt` (`n` number / `s` string: the catalog's form), `name`; `sver` seat version, `lver` seat layout version. */
  event: 'event',
  /** LIST per event of its category keys in definition order. */
  eventCats: 'event-cats',
  /**
   * HASH per category ref: `total sold locked ver eid eidt cid cidt name`, and `ledger` (the sales
   * ledger's last sold figure) once the category follows one; `locked` = recorded-ACTIVE quantities.
   */
  cat: 'cat',
  /** ZSET per category ref: recorded-ACTIVE lockId → expiresAt. */
  catLocks: 'cat-locks',
  /** ZSET per category ref that follows a sales ledger: lockId confirmed here, not yet settled by its order → confirmedAt. */
  catPending: 'cat-pending',
  /** STRING per `<ref>:<orderKey>`, PX retentionMs: that order already settled a confirm (followLedger). */
  ledgerOrder: 'ledger-order',
  /** HASH per lock. */
  lock: 'lock',
  /** ZSET per user: recorded-ACTIVE lockId → expiresAt. */
  userLocks: 'user-locks',
  /** HASH per user: category ref → its recorded-ACTIVE lockId. */
  userCats: 'user-cats',
  /** SET per session: recorded-ACTIVE lockIds it created. */
  session: 'session',
  /** STRING per `<len(userId)>:<userId>:<requestId>` → lockId, PX retentionMs. */
  request: 'req',
  /** ZSET recorded-ACTIVE lockId → expiresAt (the sweep's queue). */
  due: 'due',
  /** ZSET terminal lockId → purge time. */
  retention: 'retention',
  /** HASH recorded status → count. */
  stats: 'stats',
  /** ZSET userId → latest expiresAt of their recorded-ACTIVE locks. */
  users: 'users',
  /** ZSET category ref → latest expiresAt of its recorded-ACTIVE locks. */
  cats: 'cats',
  /** HASH per event key: seatId → state of a seat that is not plainly available: `b` blocked, `s` sold, `h:<expiresAt>:<lockId>` held (until expiresAt). */
  seat: 'seat',
  /** HASH per event key: seatId → `<categoryKey>|<row>|<pos>` (1-based), for every seat of its reserved categories. */
  seatPos: 'seat-pos',
  /** LIST per category ref: its rows best first, each its seat ids left to right joined by spaces. */
  seatRows: 'seat-rows',
  /** LIST per category ref: the row names, in the order of `seatRows`. */
  seatRowNames: 'seat-row-names',
  /** STRING per `<len(userId)>:<userId>:<requestId>` → `<lockId>\n<what was asked>` of a `hold-seats`, PX retentionMs. */
  seatRequest: 'seat-req',
  /** STREAM of lifecycle events (`event`, `lock`, and `origin` when the store announces one) for the lifecycle sinks (only with `outbox: true`). */
  outbox: 'outbox',
  /** STRING per sink (`outbox-lease:<sink>`): the instance relaying the outbox to that sink now (a lease with a TTL). */
  outboxLease: 'outbox-lease',
  /**
   * STRING set once the service defined its catalog: gone means Redis came back empty (a restart
   * without persistence, a failover that lost data, FLUSHDB) and the catalog must be defined again.
   */
  catalogMarker: 'catalog-marker',
  /** HASH sink → id of the last outbox entry that sink has; entries every sink has are trimmed. */
  outboxCursors: 'outbox-cursors',
  /** Pub/sub CHANNEL (not a key) every change is announced on (only with an `origin`). */
  changes: 'changes',
  /**
   * ZSET origin → until (Redis time, ms): the change feeds subscribed now, renewed while they run.
   * A script announces only when someone but its caller's own feed listens: alone, it would only
   * echo its changes back to itself.
   */
  feeds: 'feeds',
  // Waiting rooms (CONTRACT §7; scripts in lua/waiting-room.ts; the lock and confirm scripts read `room`/`roomAdmitted`).
  /** LIST of event keys that have a waiting room, in configuration order. */
  rooms: 'wr-rooms',
  /** HASH per event: `id idt on closed placed apm max adm start serving tail credit last total ver`. */
  room: 'wr',
  /** ZSET per event: early joiner → random sort key (their order at `salesStartAt`). */
  roomEarly: 'wr-early',
  /** ZSET per event: waiting user → place number. */
  roomQueue: 'wr-queue',
  /** ZSET per event: admitted user → admission end (epoch ms). */
  roomAdmitted: 'wr-admitted',
  /** ZSET per event: user in the room → last time a socket of theirs was seen. */
  roomSeen: 'wr-seen',
  /** STRING: the instance running the admission ticks (a lease with a TTL). */
  roomLease: 'wr-lease',
} as const;

/** `{prefix}`: the hash-tagged base every key starts with. */
export function keyBase(prefix: string): string {
  return `{${prefix}}`;
}

export function outboxKey(prefix: string): string {
  return `${keyBase(prefix)}:${KEY.outbox}`;
}

export function changesChannel(prefix: string): string {
  return `${keyBase(prefix)}:${KEY.changes}`;
}

export function feedsKey(prefix: string): string {
  return `${keyBase(prefix)}:${KEY.feeds}`;
}

export function catalogMarkerKey(prefix: string): string {
  return `${keyBase(prefix)}:${KEY.catalogMarker}`;
}

export function lockKey(prefix: string, lockId: string): string {
  return `${keyBase(prefix)}:${KEY.lock}:${lockId}`;
}

/** A prefix must not carry its own braces (it would move the hash tag). */
export function isValidPrefix(prefix: string): boolean {
  return /^[^{}\s]{1,64}$/.test(prefix);
}

/** An announcing instance's id: it leads each message, up to the first space. */
export function isValidOrigin(origin: string): boolean {
  return /^\S{1,512}$/.test(origin);
}
