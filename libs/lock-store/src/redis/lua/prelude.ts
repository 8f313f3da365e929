/**
 * The shared head of every Lua script of the Redis lock store: the calling convention, keys, record
 * and count helpers, transitions and replies. Each script (one file per operation in this folder) is
 * this prelude followed by the operation's body; one call = one EVALSHA = one atomic step.
 *
 * Calling convention: KEYS[1] = `{prefix}` (every key is derived from it, see redis-keys.ts);
 * ARGV[1..8] = lockDurationMs, maxLifetimeMs, maxActiveLocksPerUser, maxTicketsPerLock,
 * retentionMs, outbox ('1'/'0'), origin ('' = do not announce), clock ('' = Redis TIME; epoch ms
 * only from a test store); the operation's own arguments follow, read with `X(i)`.
 *
 * With an origin, a call that changed anything also PUBLISHes `<origin> {now, transitions,
 * availability}` on `{prefix}:changes` from inside the script: other instances learn of every
 * change without the caller sending a second command (see redis-change-feed.ts). Only while
 * someone else listens (another feed registered in `{prefix}:feeds`, or a subscriber beyond its
 * own): an instance alone would pay for the message and for decoding its own echo, for nobody.
 *
 * Replies are one JSON string `{now, value | error[, status], transitions, availability}`, built
 * by hand: cjson prints numbers with 14 significant digits and empty tables as `{}`, so numbers go
 * through `string.format('%d')` and cjson only escapes strings.
 *
 * Every number handed to `redis.call` is pre-formatted too (Lua would print it with `%.14g`).
 */
import { KEY } from '../redis-keys.js';
import { SEAT_HELPERS } from './seat-helpers.js';

/** Where an operation's own arguments start in ARGV. */
export const HEADER_ARGS = 8;

export const PRELUDE = /* lua */ `
local P = KEYS[1]
local DUR = tonumber(ARGV[1])
local MAXLIFE = tonumber(ARGV[2])
local MAXACTIVE = tonumber(ARGV[3])
local MAXTICKETS = tonumber(ARGV[4])
local RETAIN = tonumber(ARGV[5])
local OUTBOX = ARGV[6] == '1'
local ORIGIN = ARGV[7]
local function X(i) return ARGV[${HEADER_ARGS} + i] end

-- Redis time, so instances with skewed clocks agree. ARGV[8] is set only by a store built with a
-- test clock (the model-based test drives both stores from one clock).
local TEST_CLOCK = ARGV[8] ~= nil and ARGV[8] ~= ''
local function redisNow()
  local T = redis.call('TIME')
  return tonumber(T[1]) * 1000 + math.floor(tonumber(T[2]) / 1000)
end
local NOW
if TEST_CLOCK then NOW = tonumber(ARGV[8]) else NOW = redisNow() end
local function I(n) return string.format('%d', n) end
local NOWS = I(NOW)

local K_EVENTS = P .. ':${KEY.events}'
local K_DUE = P .. ':${KEY.due}'
local K_RET = P .. ':${KEY.retention}'
local K_STATS = P .. ':${KEY.stats}'
local K_USERS = P .. ':${KEY.users}'
local K_CATS = P .. ':${KEY.cats}'
local K_OUTBOX = P .. ':${KEY.outbox}'
local K_CHANGES = P .. ':${KEY.changes}'
local K_FEEDS = P .. ':${KEY.feeds}'
local function kEvent(ek) return P .. ':${KEY.event}:' .. ek end
local function kEventCats(ek) return P .. ':${KEY.eventCats}:' .. ek end
local function catRef(ek, ck) return #ek .. ':' .. ek .. ':' .. ck end
-- Waiting room state the lock and confirm scripts read (written by lua/waiting-room.ts).
local function kRoom(ek) return P .. ':${KEY.room}:' .. ek end
local function kRoomAdmitted(ek) return P .. ':${KEY.roomAdmitted}:' .. ek end
local function kRoomSeen(ek) return P .. ':${KEY.roomSeen}:' .. ek end
local function kCat(r) return P .. ':${KEY.cat}:' .. r end
local function kCatLocks(r) return P .. ':${KEY.catLocks}:' .. r end
local function kCatPending(r) return P .. ':${KEY.catPending}:' .. r end
local function kLedgerOrder(r, order) return P .. ':${KEY.ledgerOrder}:' .. r .. ':' .. order end
local function kLock(id) return P .. ':${KEY.lock}:' .. id end
local function kUserLocks(u) return P .. ':${KEY.userLocks}:' .. u end
local function kUserCats(u) return P .. ':${KEY.userCats}:' .. u end
local function kSession(s) return P .. ':${KEY.session}:' .. s end
local function kRequest(u, rid) return P .. ':${KEY.request}:' .. #u .. ':' .. u .. ':' .. rid end

local function isInt(n) return n ~= nil and n == n and n == math.floor(n) and n > -math.huge and n < math.huge end

local function J(s) return cjson.encode(s) end
-- Ids keep the catalog's form: 'n' ids are stored as their decimal string and printed bare.
local function JID(v, t) if t == 'n' then return v end return J(v) end
${SEAT_HELPERS}

local function loadLock(id)
  if not id or id == '' then return nil end
  local raw = redis.call('HGETALL', kLock(id))
  if #raw == 0 then return nil end
  local h = {}
  for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
  return h
end

local function lockJson(h)
  local p = {
    '"lockId":' .. J(h.lockId), '"eventId":' .. JID(h.eid, h.eidt), '"categoryId":' .. JID(h.cid, h.cidt),
    '"quantity":' .. h.quantity, '"userId":' .. J(h.userId), '"sessionId":' .. J(h.sessionId),
    '"status":' .. J(h.status), '"createdAt":' .. h.createdAt, '"expiresAt":' .. h.expiresAt,
  }
  if h.confirmedAt then p[#p + 1] = '"confirmedAt":' .. h.confirmedAt end
  if h.releasedAt then p[#p + 1] = '"releasedAt":' .. h.releasedAt end
  if h.orderId then p[#p + 1] = '"orderId":' .. J(h.orderId) end
  if h.reason then p[#p + 1] = '"reason":' .. J(h.reason) end
  if h.requestId then p[#p + 1] = '"requestId":' .. J(h.requestId) end
  if h.seats then p[#p + 1] = '"seats":' .. idsJson(words(h.seats)) end
  return '{' .. table.concat(p, ',') .. '}'
end

local function isDue(h) return h.status == 'ACTIVE' and tonumber(h.expiresAt) <= NOW end

-- Waiting room (CONTRACT §7): while the event's room is on, only a user with a running admission may
-- hold. Every script that holds tickets or seats (lock, hold-seats) calls this in its own atomic step.
local function admissionRequired(ek, u)
  if redis.call('HGET', kRoom(ek), 'on') ~= '1' then return false end
  local admittedUntil = tonumber(redis.call('ZSCORE', kRoomAdmitted(ek), u))
  return not admittedUntil or admittedUntil <= NOW
end

-- Counts at NOW: stored 'locked' minus the recorded-ACTIVE locks already past expiresAt
-- (few: the sweep keeps removing them), so expiry is exact without waiting for a sweep.
local function catCounts(r)
  local v = redis.call('HMGET', kCat(r), 'total', 'sold', 'locked', 'ver', 'eid', 'eidt', 'cid', 'cidt')
  if not v[1] then return nil end
  local locked = tonumber(v[3])
  local due = redis.call('ZRANGEBYSCORE', kCatLocks(r), '-inf', NOWS)
  for _, id in ipairs(due) do
    locked = locked - (tonumber(redis.call('HGET', kLock(id), 'quantity')) or 0)
  end
  local total, sold = tonumber(v[1]), tonumber(v[2])
  return {
    total = total, sold = sold, locked = locked, avail = math.max(0, total - sold - locked), ver = v[4],
    eid = v[5], eidt = v[6], cid = v[7], cidt = v[8],
  }
end

local function availJson(r)
  local c = catCounts(r)
  return '{"eventId":' .. JID(c.eid, c.eidt) .. ',"categoryId":' .. JID(c.cid, c.cidt)
    .. ',"totalTickets":' .. I(c.total) .. ',"availableTickets":' .. I(c.avail)
    .. ',"lockedTickets":' .. I(c.locked) .. ',"soldTickets":' .. I(c.sold) .. ',"version":' .. c.ver .. '}'
end

-- Categories this call changed (in order) and those whose version must rise once.
local CHANGED, CHANGED_LIST, BUMP = {}, {}, {}
local function touch(r, bump)
  if not CHANGED[r] then CHANGED[r] = true; CHANGED_LIST[#CHANGED_LIST + 1] = r end
  if bump then BUMP[r] = true end
end
local function applyBumps()
  for _, r in ipairs(CHANGED_LIST) do
    if BUMP[r] then redis.call('HINCRBY', kCat(r), 'ver', 1); BUMP[r] = nil end
  end
end

local TRANS = {}
-- Records a transition; answers the lock's JSON, so the reply need not print it again.
local function emit(event, h)
  local j = lockJson(h)
  local t = '{"event":"' .. event .. '","lock":' .. j
  -- The outbox records what happened; each transport (a sink) maps it to its own wire form. The
  -- entry names its origin and the reply its id: the caller's relay publishes what it appended from
  -- the reply instead of reading it back (redis-outbox.ts).
  if OUTBOX then
    local id
    if ORIGIN ~= '' then
      id = redis.call('XADD', K_OUTBOX, '*', 'event', event, 'lock', j, 'origin', ORIGIN)
    else
      id = redis.call('XADD', K_OUTBOX, '*', 'event', event, 'lock', j)
    end
    t = t .. ',"outboxId":"' .. id .. '"'
  end
  TRANS[#TRANS + 1] = t .. '}'
  return j
end

local function statAdd(status, d) redis.call('HINCRBY', K_STATS, status, I(d)) end

-- Writes the named fields of the lock; those it does not have (nil) are left out.
local function setFields(h, ...)
  local args = {}
  for _, f in ipairs({ ... }) do
    if h[f] ~= nil then args[#args + 1] = f; args[#args + 1] = h[f] end
  end
  redis.call('HSET', kLock(h.lockId), unpack(args))
end

-- The member's score in the max-ZSET is the latest expiresAt left in its source ZSET.
local function refreshMax(zkey, member, src)
  local top = redis.call('ZRANGE', src, '-1', '-1', 'WITHSCORES')
  if top[2] then redis.call('ZADD', zkey, top[2], member) else redis.call('ZREM', zkey, member) end
end

-- Takes a recorded-ACTIVE lock out of every active index and its tickets out of 'locked'.
local function deactivate(h)
  local id, r, u = h.lockId, h.ref, h.userId
  redis.call('ZREM', K_DUE, id)
  redis.call('ZREM', kCatLocks(r), id)
  redis.call('ZREM', kUserLocks(u), id)
  redis.call('SREM', kSession(h.sessionId), id)
  if redis.call('HGET', kUserCats(u), r) == id then redis.call('HDEL', kUserCats(u), r) end
  redis.call('HINCRBY', kCat(r), 'locked', I(-tonumber(h.quantity)))
  refreshMax(K_USERS, u, kUserLocks(u))
  refreshMax(K_CATS, r, kCatLocks(r))
  statAdd('ACTIVE', -1)
  touch(r, true)
  if h.seats then freeSeats(h, words(h.seats)) end
end

-- An EXPIRED lock became terminal at its expiresAt, whenever the expiry is recorded.
local function expireRec(h)
  deactivate(h)
  h.status = 'EXPIRED'
  setFields(h, 'status')
  statAdd('EXPIRED', 1)
  redis.call('ZADD', K_RET, I(tonumber(h.expiresAt) + RETAIN), h.lockId)
  return emit('expired', h)
end

local function releaseRec(h, reason)
  deactivate(h)
  h.status = 'RELEASED'
  h.releasedAt = NOWS
  h.reason = reason
  setFields(h, 'status', 'releasedAt', 'reason')
  statAdd('RELEASED', 1)
  redis.call('ZADD', K_RET, I(NOW + RETAIN), h.lockId)
  return emit('released', h)
end

-- ACTIVE (not due) or recorded EXPIRED → CONFIRMED; the quantity moves to 'sold'.
local function confirmRec(h, orderId)
  if h.status == 'ACTIVE' then deactivate(h) else statAdd(h.status, -1) end
  if h.seats then sellSeats(h) end
  redis.call('HINCRBY', kCat(h.ref), 'sold', h.quantity)
  -- Following a sales ledger: this sale is not in it until its order completes (follow-ledger).
  if redis.call('HEXISTS', kCat(h.ref), 'ledger') == 1 then redis.call('ZADD', kCatPending(h.ref), NOWS, h.lockId) end
  touch(h.ref, true)
  h.status = 'CONFIRMED'
  h.confirmedAt = NOWS
  h.orderId = orderId
  setFields(h, 'status', 'confirmedAt', 'orderId')
  statAdd('CONFIRMED', 1)
  redis.call('ZADD', K_RET, I(NOW + RETAIN), h.lockId)
  -- Waiting room: the buyer is done, so their admission ends now and frees the slot.
  if redis.call('ZREM', kRoomAdmitted(h.eid), h.userId) == 1 then
    redis.call('ZREM', kRoomSeen(h.eid), h.userId)
    redis.call('HINCRBY', kRoom(h.eid), 'ver', '1')
  end
  return emit('confirmed', h)
end

-- Whether anyone but this caller's own change feed listens: another registered, unexpired feed
-- (Redis time, also under a test clock: registrations are renewed in real time), or a subscriber
-- that never registered (an instance of an earlier version), seen as one more than our own.
local function othersListen()
  local t = NOW
  if TEST_CLOCK then t = redisNow() end
  local selfLive = false
  for _, o in ipairs(redis.call('ZRANGE', K_FEEDS, '(' .. I(t), '+inf', 'BYSCORE', 'LIMIT', '0', '2')) do
    if o ~= ORIGIN then return true end
    selfLive = true
  end
  return redis.call('PUBSUB', 'NUMSUB', K_CHANGES)[2] > (selfLive and 1 or 0)
end

local function finish(part)
  applyBumps()
  local av = {}
  for _, r in ipairs(CHANGED_LIST) do av[#av + 1] = availJson(r) end
  local seats = seatDeltas()
  local changes = '"transitions":[' .. table.concat(TRANS, ',') .. '],"availability":[' .. table.concat(av, ',') .. ']'
  if #seats > 0 then changes = changes .. ',"seats":[' .. table.concat(seats, ',') .. ']' end
  changes = changes .. '}'
  if ORIGIN ~= '' and (#TRANS > 0 or #av > 0 or #seats > 0) and othersListen() then
    redis.call('PUBLISH', K_CHANGES, ORIGIN .. ' {"now":' .. NOWS .. ',' .. changes)
  end
  return '{"now":' .. NOWS .. ',' .. part .. ',' .. changes
end
local function ok(valueJson) return finish('"value":' .. valueJson) end
-- A refusal; transitions recorded before it (a due lock's expiry) still travel with it.
local function fail(code, status)
  local part = '"error":' .. J(code)
  if status then part = part .. ',"status":' .. J(status) end
  return finish(part)
end
-- A seat refusal names its seats (CONTRACT §6).
local function failSeats(code, ids)
  return finish('"error":' .. J(code) .. ',"seatIds":' .. idsJson(ids))
end
-- The owner's refusal for a lock that is not ACTIVE now, or nil; a due one is recorded EXPIRED first.
local function notActive(h)
  if isDue(h) then expireRec(h) end
  if h.status == 'EXPIRED' then return fail('LOCK_EXPIRED', 'EXPIRED') end
  if h.status ~= 'ACTIVE' then return fail('LOCK_NOT_ACTIVE', h.status) end
  return nil
end

local function byCreation(a, b)
  if a.createdAt ~= b.createdAt then return tonumber(a.createdAt) < tonumber(b.createdAt) end
  return a.lockId < b.lockId
end
local function locksJson(list)
  local out = {}
  for _, h in ipairs(list) do out[#out + 1] = lockJson(h) end
  return '[' .. table.concat(out, ',') .. ']'
end

-- Creates the event (first writer's id form and name) if unknown.
local function ensureEvent(ek, eidt, name)
  if redis.call('EXISTS', kEvent(ek)) == 1 then return false end
  redis.call('RPUSH', K_EVENTS, ek)
  -- sver: the event's seat version (CONTRACT §6), 1 before any seat changed.
  redis.call('HSET', kEvent(ek), 'id', ek, 'idt', eidt, 'sver', '1')
  if name then redis.call('HSET', kEvent(ek), 'name', name) end
  return true
end

-- A known category's new total; its counts (and version) change only if the total does.
local function replaceTotal(r, total)
  if tonumber(redis.call('HGET', kCat(r), 'total')) ~= total then
    redis.call('HSET', kCat(r), 'total', I(total))
    touch(r, true)
  end
end

-- Creates a category at version 1 if unknown; answers whether it did. With 'sold' (a sales
-- ledger's figure) it starts with that many sold and follows the ledger.
local function ensureCat(ek, ck, cidt, total, name, sold)
  local r = catRef(ek, ck)
  if redis.call('EXISTS', kCat(r)) == 1 then return false end
  local ev = redis.call('HMGET', kEvent(ek), 'id', 'idt')
  redis.call('RPUSH', kEventCats(ek), ck)
  redis.call('HSET', kCat(r), 'total', I(total), 'sold', I(sold or 0), 'locked', '0', 'ver', '1',
    'eid', ev[1], 'eidt', ev[2], 'cid', ck, 'cidt', cidt)
  if name then redis.call('HSET', kCat(r), 'name', name) end
  if sold then redis.call('HSET', kCat(r), 'ledger', I(sold)) end
  touch(r, false)
  return true
end

-- Writes a new ACTIVE lock (its fields set on h) into every index and counts it as q locked
-- tickets until exp: what lock and hold-seats share once they grant.
local function grantLock(h, exp, q)
  local id, r, u, sid = h.lockId, h.ref, h.userId, h.sessionId
  redis.call('ZADD', K_DUE, exp, id)
  redis.call('ZADD', kCatLocks(r), exp, id)
  redis.call('ZADD', kUserLocks(u), exp, id)
  redis.call('HSET', kUserCats(u), r, id)
  redis.call('SADD', kSession(sid), id)
  redis.call('ZADD', K_USERS, 'GT', exp, u)
  redis.call('ZADD', K_CATS, 'GT', exp, r)
  redis.call('HINCRBY', kCat(r), 'locked', I(q))
  statAdd('ACTIVE', 1)
  touch(r, true)
end

-- The lock an unlock names, or nil and the refusal: by id (the owner's; an ek / ck sent along
-- must be the lock's), or the user's ACTIVE lock in category (a, b).
local function unlockTarget(u, mode, a, b, ck)
  if mode == 'id' then
    local h = loadLock(a)
    if not h then return nil, fail('LOCK_NOT_FOUND') end
    if h.userId ~= u then return nil, fail('NOT_LOCK_OWNER') end
    if (b ~= '' and b ~= h.eid) or (ck ~= '' and ck ~= h.cid) then return nil, fail('VALIDATION_FAILED') end
    return h
  end
  local h = loadLock(redis.call('HGET', kUserCats(u), catRef(a, b)))
  if not h or h.status ~= 'ACTIVE' then return nil, fail('LOCK_NOT_FOUND') end
  return h
end
`;

/** A whole script: the prelude, then one operation's body. */
export const withPrelude = (body: string): string => `${PRELUDE}\n${body}`;
