/**
 * Every Lua script of the Redis lock store. Each exported script is the shared {@link PRELUDE}
 * followed by one operation's body; one call = one EVALSHA = one atomic step.
 *
 * Calling convention: KEYS[1] = `{prefix}` (every key is derived from it, see redis-keys.ts);
 * ARGV[1..7] = lockDurationMs, maxLifetimeMs, maxActiveLocksPerUser, maxTicketsPerLock,
 * retentionMs, outbox ('1'/'0'), origin ('' = do not announce); the operation's own arguments
 * follow, read with `X(i)`.
 *
 * With an origin, a call that changed anything also PUBLISHes `<origin> {now, transitions,
 * availability}` on `{prefix}:changes` from inside the script: other instances learn of every
 * change without the caller sending a second command (see redis-change-feed.ts).
 *
 * Replies are one JSON string `{now, value | error[, status], transitions, availability}`, built
 * by hand: cjson prints numbers with 14 significant digits and empty tables as `{}`, so numbers go
 * through `string.format('%d')` and cjson only escapes strings.
 *
 * Every number handed to `redis.call` is pre-formatted too (Lua would print it with `%.14g`).
 */
import { KEY } from './redis-keys.js';

/** Where an operation's own arguments start in ARGV. */
export const HEADER_ARGS = 7;

const PRELUDE = /* lua */ `
local P = KEYS[1]
local DUR = tonumber(ARGV[1])
local MAXLIFE = tonumber(ARGV[2])
local MAXACTIVE = tonumber(ARGV[3])
local MAXTICKETS = tonumber(ARGV[4])
local RETAIN = tonumber(ARGV[5])
local OUTBOX = ARGV[6] == '1'
local ORIGIN = ARGV[7]
local function X(i) return ARGV[${HEADER_ARGS} + i] end

-- Redis time, so instances with skewed clocks agree.
local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + math.floor(tonumber(T[2]) / 1000)
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
local function kEvent(ek) return P .. ':${KEY.event}:' .. ek end
local function kEventCats(ek) return P .. ':${KEY.eventCats}:' .. ek end
local function catRef(ek, ck) return #ek .. ':' .. ek .. ':' .. ck end
local function kCat(r) return P .. ':${KEY.cat}:' .. r end
local function kCatLocks(r) return P .. ':${KEY.catLocks}:' .. r end
local function kLock(id) return P .. ':${KEY.lock}:' .. id end
local function kUserLocks(u) return P .. ':${KEY.userLocks}:' .. u end
local function kUserCats(u) return P .. ':${KEY.userCats}:' .. u end
local function kSession(s) return P .. ':${KEY.session}:' .. s end
local function kRequest(u, rid) return P .. ':${KEY.request}:' .. #u .. ':' .. u .. ':' .. rid end

local function isInt(n) return n ~= nil and n == n and n == math.floor(n) and n > -math.huge and n < math.huge end

local function J(s) return cjson.encode(s) end
-- Ids keep the catalog's form: 'n' ids are stored as their decimal string and printed bare.
local function JID(v, t) if t == 'n' then return v end return J(v) end

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
  return '{' .. table.concat(p, ',') .. '}'
end

local function isDue(h) return h.status == 'ACTIVE' and tonumber(h.expiresAt) <= NOW end

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
  TRANS[#TRANS + 1] = '{"event":"' .. event .. '","lock":' .. j .. '}'
  if OUTBOX then redis.call('XADD', K_OUTBOX, '*', 'pattern', 'ticket-lock.' .. event, 'lock', j) end
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
  redis.call('HINCRBY', kCat(h.ref), 'sold', h.quantity)
  touch(h.ref, true)
  h.status = 'CONFIRMED'
  h.confirmedAt = NOWS
  h.orderId = orderId
  setFields(h, 'status', 'confirmedAt', 'orderId')
  statAdd('CONFIRMED', 1)
  redis.call('ZADD', K_RET, I(NOW + RETAIN), h.lockId)
  return emit('confirmed', h)
end

local function finish(part)
  applyBumps()
  local av = {}
  for _, r in ipairs(CHANGED_LIST) do av[#av + 1] = availJson(r) end
  local changes = '"transitions":[' .. table.concat(TRANS, ',') .. '],"availability":[' .. table.concat(av, ',') .. ']}'
  if ORIGIN ~= '' and (#TRANS > 0 or #av > 0) then
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
  redis.call('HSET', kEvent(ek), 'id', ek, 'idt', eidt)
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

-- Creates a category at version 1 if unknown; answers whether it did.
local function ensureCat(ek, ck, cidt, total, name)
  local r = catRef(ek, ck)
  if redis.call('EXISTS', kCat(r)) == 1 then return false end
  local ev = redis.call('HMGET', kEvent(ek), 'id', 'idt')
  redis.call('RPUSH', kEventCats(ek), ck)
  redis.call('HSET', kCat(r), 'total', I(total), 'sold', '0', 'locked', '0', 'ver', '1',
    'eid', ev[1], 'eidt', ev[2], 'cid', ck, 'cidt', cidt)
  if name then redis.call('HSET', kCat(r), 'name', name) end
  touch(r, false)
  return true
end
`;

/** ARGV: ek, eidt, hasName, name, replaceTotals, n, then n × (ck, cidt, total, hasName, name). */
const DEFINE_EVENT = /* lua */ `
local ek, eidt = X(1), X(2)
local ename = nil
if X(3) == '1' then ename = X(4) end
local replace = X(5) == '1'
local n = tonumber(X(6))
if not isInt(n) or n < 0 then return fail('VALIDATION_FAILED') end
local cats = {}
for i = 0, n - 1 do
  local b = 7 + i * 5
  local total = tonumber(X(b + 2))
  if not isInt(total) or total < 0 then return fail('VALIDATION_FAILED') end
  local name = nil
  if X(b + 3) == '1' then name = X(b + 4) end
  cats[#cats + 1] = { ck = X(b), cidt = X(b + 1), total = total, name = name }
end
-- Names: a reload replaces them, otherwise they only fill a gap; totals: first writer wins.
if not ensureEvent(ek, eidt, ename) and ename then
  if replace then redis.call('HSET', kEvent(ek), 'name', ename) else redis.call('HSETNX', kEvent(ek), 'name', ename) end
end
for _, c in ipairs(cats) do
  if not ensureCat(ek, c.ck, c.cidt, c.total, c.name) then
    local r = catRef(ek, c.ck)
    if c.name then
      if replace then redis.call('HSET', kCat(r), 'name', c.name) else redis.call('HSETNX', kCat(r), 'name', c.name) end
    end
    if replace then replaceTotal(r, c.total) end
  end
end
applyBumps()
local out = {}
for _, ck in ipairs(redis.call('LRANGE', kEventCats(ek), '0', '-1')) do out[#out + 1] = availJson(catRef(ek, ck)) end
return ok('[' .. table.concat(out, ',') .. ']')
`;

const EVENTS = /* lua */ `
local out = {}
for _, ek in ipairs(redis.call('LRANGE', K_EVENTS, '0', '-1')) do
  local ev = redis.call('HMGET', kEvent(ek), 'id', 'idt', 'name')
  local cats = {}
  for _, ck in ipairs(redis.call('LRANGE', kEventCats(ek), '0', '-1')) do
    local c = redis.call('HMGET', kCat(catRef(ek, ck)), 'cid', 'cidt', 'total', 'name')
    local j = '{"categoryId":' .. JID(c[1], c[2]) .. ',"totalTickets":' .. c[3]
    if c[4] then j = j .. ',"name":' .. J(c[4]) end
    cats[#cats + 1] = j .. '}'
  end
  local j = '{"id":' .. JID(ev[1], ev[2])
  if ev[3] then j = j .. ',"name":' .. J(ev[3]) end
  out[#out + 1] = j .. ',"categories":[' .. table.concat(cats, ',') .. ']}'
end
return ok('[' .. table.concat(out, ',') .. ']')
`;

/** ARGV: lockId, ek, ck, quantity, userId, sessionId, requestId ('' = none). */
const LOCK = /* lua */ `
local lockId, ek, ck, u, sid, rid = X(1), X(2), X(3), X(5), X(6), X(7)
local q = tonumber(X(4))
if not isInt(q) or q < 1 or q > MAXTICKETS then return fail('VALIDATION_FAILED') end
if rid ~= '' then
  local first = loadLock(redis.call('GET', kRequest(u, rid)))
  if first then return ok('{"lock":' .. lockJson(first) .. ',"replayed":true}') end
end
if redis.call('EXISTS', kEvent(ek)) == 0 then return fail('EVENT_NOT_FOUND') end
local r = catRef(ek, ck)
local c = catCounts(r)
if not c then return fail('CATEGORY_NOT_FOUND') end
-- A due lock of this user here no longer blocks; its expiry is recorded only if we grant.
local stale = loadLock(redis.call('HGET', kUserCats(u), r))
if stale and stale.status == 'ACTIVE' then
  if not isDue(stale) then return fail('DUPLICATE_LOCK') end
else
  stale = nil
end
if redis.call('ZCOUNT', kUserLocks(u), '(' .. NOWS, '+inf') >= MAXACTIVE then return fail('TOO_MANY_LOCKS') end
if c.avail < q then return fail('INSUFFICIENT_TICKETS') end
if stale then expireRec(stale) end
local exp = I(NOW + DUR)
local h = {
  lockId = lockId, eid = c.eid, eidt = c.eidt, cid = c.cid, cidt = c.cidt, ref = r, quantity = I(q),
  userId = u, sessionId = sid, status = 'ACTIVE', createdAt = NOWS, expiresAt = exp,
}
if rid ~= '' then
  h.requestId = rid
  redis.call('SET', kRequest(u, rid), lockId, 'PX', I(RETAIN))
end
setFields(h, 'lockId', 'eid', 'eidt', 'cid', 'cidt', 'ref', 'quantity', 'userId', 'sessionId', 'status', 'createdAt', 'expiresAt', 'requestId')
redis.call('ZADD', K_DUE, exp, lockId)
redis.call('ZADD', kCatLocks(r), exp, lockId)
redis.call('ZADD', kUserLocks(u), exp, lockId)
redis.call('HSET', kUserCats(u), r, lockId)
redis.call('SADD', kSession(sid), lockId)
redis.call('ZADD', K_USERS, 'GT', exp, u)
redis.call('ZADD', K_CATS, 'GT', exp, r)
redis.call('HINCRBY', kCat(r), 'locked', I(q))
statAdd('ACTIVE', 1)
touch(r, true)
return ok('{"lock":' .. emit('created', h) .. ',"replayed":false}')
`;

/**
 * ARGV: userId, mode ('id' | 'cat'), lockId | ek, '' | ek | ck, quantity ('' = all), '' | ck.
 * By id, an ek (ARGV 4) / ck (ARGV 6) sent along must be the lock's.
 */
const UNLOCK = /* lua */ `
local u, mode = X(1), X(2)
local h
if mode == 'id' then
  h = loadLock(X(3))
  if not h then return fail('LOCK_NOT_FOUND') end
  if h.userId ~= u then return fail('NOT_LOCK_OWNER') end
  local ek, ck = X(4) or '', X(6) or ''
  if (ek ~= '' and ek ~= h.eid) or (ck ~= '' and ck ~= h.cid) then return fail('VALIDATION_FAILED') end
else
  h = loadLock(redis.call('HGET', kUserCats(u), catRef(X(3), X(4))))
  if not h or h.status ~= 'ACTIVE' then return fail('LOCK_NOT_FOUND') end
end
local refusal = notActive(h)
if refusal then return refusal end
local held = tonumber(h.quantity)
local q = held
if X(5) ~= '' then
  q = tonumber(X(5))
  if not isInt(q) or q < 1 or q > held then return fail('VALIDATION_FAILED') end
end
local j
if q < held then
  -- Not a lifecycle transition, but the counts (and so the version) change.
  h.quantity = I(held - q)
  setFields(h, 'quantity')
  redis.call('HINCRBY', kCat(h.ref), 'locked', I(-q))
  touch(h.ref, true)
  j = lockJson(h)
else
  j = releaseRec(h, 'user-unlock')
end
return ok('{"lock":' .. j .. ',"releasedQuantity":' .. I(q) .. ',"remainingQuantity":' .. I(held - q) .. '}')
`;

/** ARGV: lockId, userId. */
const EXTEND = /* lua */ `
local h = loadLock(X(1))
if not h then return fail('LOCK_NOT_FOUND') end
if h.userId ~= X(2) then return fail('NOT_LOCK_OWNER') end
local refusal = notActive(h)
if refusal then return refusal end
local exp = math.min(NOW + DUR, tonumber(h.createdAt) + MAXLIFE)
if exp > tonumber(h.expiresAt) then
  h.expiresAt = I(exp)
  setFields(h, 'expiresAt')
  redis.call('ZADD', K_DUE, 'XX', h.expiresAt, h.lockId)
  redis.call('ZADD', kCatLocks(h.ref), 'XX', h.expiresAt, h.lockId)
  redis.call('ZADD', kUserLocks(h.userId), 'XX', h.expiresAt, h.lockId)
  redis.call('ZADD', K_USERS, 'GT', h.expiresAt, h.userId)
  redis.call('ZADD', K_CATS, 'GT', h.expiresAt, h.ref)
end
return ok(lockJson(h))
`;

/** ARGV: lockId, orderId, hasOrderId. */
const CONFIRM = /* lua */ `
local h = loadLock(X(1))
if not h then return fail('LOCK_NOT_FOUND') end
if h.status == 'CONFIRMED' then return ok(lockJson(h)) end
if h.status == 'RELEASED' then return fail('LOCK_NOT_ACTIVE', 'RELEASED') end
local orderId = nil
if X(3) == '1' then orderId = X(2) end
if not isDue(h) and h.status == 'ACTIVE' then return ok(confirmRec(h, orderId)) end
-- Late confirm: the lock no longer counts, so it fits only if its quantity is free again now.
local fits = catCounts(h.ref).avail >= tonumber(h.quantity)
if h.status == 'ACTIVE' then expireRec(h) end
if not fits then return fail('LOCK_EXPIRED', 'EXPIRED') end
return ok(confirmRec(h, orderId))
`;

/** ARGV: lockId, reason, hasUserId, userId. */
const RELEASE = /* lua */ `
local h = loadLock(X(1))
if not h then return fail('LOCK_NOT_FOUND') end
if X(3) == '1' and h.userId ~= X(4) then return fail('NOT_LOCK_OWNER') end
if h.status == 'CONFIRMED' then return fail('LOCK_NOT_ACTIVE', 'CONFIRMED') end
if h.status ~= 'ACTIVE' then return ok(lockJson(h)) end
if isDue(h) then return ok(expireRec(h)) end
return ok(releaseRec(h, X(2)))
`;

/** ARGV: sessionId, reason. Due locks are left to the sweep (they hold nothing already). */
const RELEASE_SESSION = /* lua */ `
local list = {}
for _, id in ipairs(redis.call('SMEMBERS', kSession(X(1)))) do
  local h = loadLock(id)
  if h and h.status == 'ACTIVE' and not isDue(h) then list[#list + 1] = h end
end
table.sort(list, byCreation)
for _, h in ipairs(list) do releaseRec(h, X(2)) end
return ok(locksJson(list))
`;

/** ARGV: lockId. */
const GET = /* lua */ `
local h = loadLock(X(1))
if not h then return ok('null') end
return ok(lockJson(h))
`;

/** ARGV: userId. */
const ACTIVE_LOCKS = /* lua */ `
local list = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', kUserLocks(X(1)), '(' .. NOWS, '+inf')) do
  local h = loadLock(id)
  if h then list[#list + 1] = h end
end
table.sort(list, byCreation)
return ok(locksJson(list))
`;

/** ARGV: ek, n, then n category keys (n = 0: every category of the event). */
const AVAILABILITY = /* lua */ `
local ek = X(1)
local n = tonumber(X(2))
if redis.call('EXISTS', kEvent(ek)) == 0 then return fail('EVENT_NOT_FOUND') end
local cks = {}
if n == 0 then
  cks = redis.call('LRANGE', kEventCats(ek), '0', '-1')
else
  for i = 1, n do
    local ck = X(2 + i)
    if redis.call('EXISTS', kCat(catRef(ek, ck))) == 0 then return fail('CATEGORY_NOT_FOUND') end
    cks[#cks + 1] = ck
  end
end
local out = {}
for _, ck in ipairs(cks) do out[#out + 1] = availJson(catRef(ek, ck)) end
return ok('[' .. table.concat(out, ',') .. ']')
`;

/** ARGV: ek, eidt, ck, cidt, total. */
const SET_CATEGORY_TOTAL = /* lua */ `
local ek, eidt, ck, cidt = X(1), X(2), X(3), X(4)
local total = tonumber(X(5))
if not isInt(total) or total < 0 then return fail('VALIDATION_FAILED') end
ensureEvent(ek, eidt, nil)
local r = catRef(ek, ck)
if not ensureCat(ek, ck, cidt, total, nil) then replaceTotal(r, total) end
applyBumps()
return ok(availJson(r))
`;

/**
 * ARGV: limit. Expires up to `limit` due locks and purges up to 10 × `limit` retained ones (a purge
 * is a few cheap commands; the bound keeps one call short while outpacing the expiries).
 */
const SWEEP = /* lua */ `
local limit = tonumber(X(1))
if not isInt(limit) or limit < 0 then return fail('VALIDATION_FAILED') end
local expired, purged = 0, 0
if limit > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_DUE, '-inf', NOWS, 'LIMIT', '0', I(limit))) do
    local h = loadLock(id)
    if h and h.status == 'ACTIVE' then
      expireRec(h)
      expired = expired + 1
    else
      redis.call('ZREM', K_DUE, id)
    end
  end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_RET, '-inf', NOWS, 'LIMIT', '0', I(limit * 10))) do
    local status = redis.call('HGET', kLock(id), 'status')
    if status then
      statAdd(status, -1)
      redis.call('DEL', kLock(id))
      purged = purged + 1
    end
    redis.call('ZREM', K_RET, id)
  end
end
return ok('{"expired":' .. I(expired) .. ',"purged":' .. I(purged) .. '}')
`;

const STATS = /* lua */ `
local s = redis.call('HMGET', K_STATS, 'ACTIVE', 'EXPIRED', 'CONFIRMED', 'RELEASED')
local active, expired = tonumber(s[1]) or 0, tonumber(s[2]) or 0
local confirmed, released = tonumber(s[3]) or 0, tonumber(s[4]) or 0
-- Recorded ACTIVE but past expiresAt: EXPIRED for every reader.
local due = redis.call('ZCOUNT', K_DUE, '-inf', NOWS)
active = active - due
expired = expired + due
local users = redis.call('ZCOUNT', K_USERS, '(' .. NOWS, '+inf')
local cats = redis.call('ZCOUNT', K_CATS, '(' .. NOWS, '+inf')
return ok('{"totalLocks":' .. I(active + expired + confirmed + released) .. ',"activeLocks":' .. I(active)
  .. ',"usersWithLocks":' .. I(users) .. ',"categoriesWithLocks":' .. I(cats)
  .. ',"locksByStatus":{"active":' .. I(active) .. ',"expired":' .. I(expired)
  .. ',"confirmed":' .. I(confirmed) .. ',"released":' .. I(released) .. '}}')
`;

const withPrelude = (body: string): string => `${PRELUDE}\n${body}`;

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
  sweep: withPrelude(SWEEP),
  stats: withPrelude(STATS),
} as const;

export type ScriptName = keyof typeof SCRIPTS;
