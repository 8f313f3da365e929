/**
 * The Lua scripts of the Redis waiting rooms (CONTRACT §7; semantics: docs/waiting-room.md, the
 * shared contract suite). One call = one EVALSHA = one atomic step, timed by Redis `TIME`, like the
 * lock store's. The keys share the lock store's hash tag, so the lock script can read a user's
 * admission in its own atomic step (lua/lock.ts) and confirm can end it (lua/prelude.ts, confirmRec).
 *
 * Calling convention: KEYS[1] = `{prefix}`; the operation's arguments are ARGV[1..]. Replies are one
 * JSON string `{now, value | error}`; numbers are printed with `%d` (cjson would use 14 digits), the
 * fractional ones (`admitPerMinute` as the caller printed it, the credit) with `%.17g`.
 *
 * Pacing rule (same as waiting-room-rules.ts, which the in-process twin uses): the credit grows by
 * admitPerMinute × elapsed, capped at one second's worth + ½ (timer jitter), one admission costs 1.
 */
import { KEY } from '../redis-keys.js';

const ROOM_PRELUDE = /* lua */ `
local P = KEYS[1]
local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + math.floor(tonumber(T[2]) / 1000)
local function I(n) return string.format('%d', n) end
local NOWS = I(NOW)
local function J(s) return cjson.encode(s) end

local K_ROOMS = P .. ':${KEY.rooms}'
local K_LEASE = P .. ':${KEY.roomLease}'
local function kRoom(ek) return P .. ':${KEY.room}:' .. ek end
local function kEarly(ek) return P .. ':${KEY.roomEarly}:' .. ek end
local function kQueue(ek) return P .. ':${KEY.roomQueue}:' .. ek end
local function kAdm(ek) return P .. ':${KEY.roomAdmitted}:' .. ek end
local function kSeen(ek) return P .. ':${KEY.roomSeen}:' .. ek end
local function kEvent(ek) return P .. ':${KEY.event}:' .. ek end
local function kEventCats(ek) return P .. ':${KEY.eventCats}:' .. ek end
local function kCat(ek, ck) return P .. ':${KEY.cat}:' .. #ek .. ':' .. ek .. ':' .. ck end

local function loadRoom(ek)
  local raw = redis.call('HGETALL', kRoom(ek))
  if #raw == 0 then return nil end
  local h = {}
  for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
  return h
end

local function bump(ek) redis.call('HINCRBY', kRoom(ek), 'ver', '1') end

local function snap(ek)
  local r = loadRoom(ek)
  local id = r.id
  if r.idt ~= 'n' then id = J(r.id) end
  local active = redis.call('ZCOUNT', kAdm(ek), '(' .. NOWS, '+inf')
  local waiting = redis.call('ZCARD', kQueue(ek)) + redis.call('ZCARD', kEarly(ek))
  local j = '{"eventId":' .. id .. ',"enabled":' .. tostring(r.on == '1') .. ',"closed":' .. tostring(r.closed == '1')
    .. ',"servingPosition":' .. r.serving .. ',"queueLength":' .. I(waiting) .. ',"activeUsers":' .. I(active)
    .. ',"admitPerMinute":' .. r.apm .. ',"maxActiveUsers":' .. r.max .. ',"admissionMs":' .. r.adm
    .. ',"admittedTotal":' .. r.total
  if r.start ~= '' then j = j .. ',"salesStartAt":' .. r.start end
  return j .. ',"version":' .. r.ver .. '}'
end

local function ok(v) return '{"now":' .. NOWS .. ',"value":' .. v .. '}' end
local function fail(code) return '{"now":' .. NOWS .. ',"error":' .. J(code) .. '}' end

-- Places are frozen at the first call after salesStartAt: the early joiners own places pbase+1 ..
-- pbase+pn in the order of their random keys (later joiners queue after pbase+pn at once), and are
-- moved into the queue CHUNK at a time (ARGV of join/admit), so 100,000 of them never block Redis in
-- one long call. Until moved, an early joiner's place is pbase + pdone + rank + 1.
local function frozen(r) return r.placed == '1' or (r.pn ~= nil and r.pn ~= '') end
local function placeEarly(ek, r, chunk)
  if r.placed == '1' then return end
  if r.start ~= '' and NOW < tonumber(r.start) then return end
  if not frozen(r) then
    local n = redis.call('ZCARD', kEarly(ek))
    r.pbase, r.pdone, r.pn = r.tail, '0', I(n)
    r.tail = I(tonumber(r.tail) + n)
    redis.call('HSET', kRoom(ek), 'pbase', r.pbase, 'pdone', '0', 'pn', r.pn, 'tail', r.tail)
  end
  local popped = redis.call('ZPOPMIN', kEarly(ek), I(chunk))
  local at = tonumber(r.pbase) + tonumber(r.pdone)
  for i = 1, #popped, 2 do
    at = at + 1
    redis.call('ZADD', kQueue(ek), I(at), popped[i])
  end
  r.pdone = I(at - tonumber(r.pbase))
  redis.call('HSET', kRoom(ek), 'pdone', r.pdone)
  if redis.call('EXISTS', kEarly(ek)) == 0 then
    r.placed = '1'
    redis.call('HSET', kRoom(ek), 'placed', '1')
  end
  if #popped > 0 then bump(ek) end
end
-- The highest place that may be admitted now: while early joiners are still being moved, no one
-- behind them (a later joiner) may pass them.
local function admissible(r)
  if r.placed == '1' then return math.huge end
  return tonumber(r.pbase) + tonumber(r.pdone)
end

-- Closed: nobody waits any more. Switched off: admissions are moot too.
local function closeRoom(ek, off)
  redis.call('HSET', kRoom(ek), 'closed', '1')
  if off then
    redis.call('HSET', kRoom(ek), 'on', '0')
    redis.call('DEL', kAdm(ek))
  end
  redis.call('DEL', kEarly(ek), kQueue(ek), kSeen(ek))
  bump(ek)
end

-- Every category of the event sold (false for an event the lock store does not know).
local function soldOut(ek)
  local cks = redis.call('LRANGE', kEventCats(ek), '0', '-1')
  if #cks == 0 then return false end
  for _, ck in ipairs(cks) do
    local v = redis.call('HMGET', kCat(ek, ck), 'total', 'sold')
    if (tonumber(v[1]) or 0) - (tonumber(v[2]) or 0) > 0 then return false end
  end
  return true
end
`;

/** ARGV: ek, idt, 'on' | 'off', apm, max, admissionMs, start ('' = none). */
const CONFIGURE = /* lua */ `
local ek, idt = ARGV[1], ARGV[2]
local r = loadRoom(ek)
if ARGV[3] == 'off' then
  if not r then return fail('QUEUE_NOT_FOUND') end
  if r.on == '1' or r.closed ~= '1' then closeRoom(ek, true) end
  return ok(snap(ek))
end
local apm, max, adm, start = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if not r then
  -- Pushes carry the id in the catalog's form when the lock store knows the event.
  idt = redis.call('HGET', kEvent(ek), 'idt') or idt
  redis.call('RPUSH', K_ROOMS, ek)
  redis.call('HSET', kRoom(ek), 'id', ek, 'idt', idt, 'on', '1', 'closed', '0', 'placed', '0', 'apm', apm, 'max', max,
    'adm', adm, 'start', start, 'serving', '0', 'tail', '0', 'credit', '0', 'last', NOWS, 'total', '0', 'ver', '1')
  return ok(snap(ek))
end
-- Once places are drawn, a new start time would reorder nobody: it is kept as it was.
if frozen(r) then start = r.start end
if r.on ~= '1' or r.closed == '1' or r.apm ~= apm or r.max ~= max or r.adm ~= adm or r.start ~= start then
  if r.on ~= '1' then redis.call('HSET', kRoom(ek), 'last', NOWS) end
  redis.call('HSET', kRoom(ek), 'on', '1', 'closed', '0', 'apm', apm, 'max', max, 'adm', adm, 'start', start)
  bump(ek)
end
return ok(snap(ek))
`;

/** ARGV: ek, userId, random sort key (for an early joiner), placement chunk. */
const JOIN = /* lua */ `
local ek, u = ARGV[1], ARGV[2]
local r = loadRoom(ek)
if not r then return fail('QUEUE_NOT_FOUND') end
if r.on ~= '1' or r.closed == '1' then return fail('QUEUE_CLOSED') end
redis.call('ZADD', kSeen(ek), NOWS, u)
local exp = tonumber(redis.call('ZSCORE', kAdm(ek), u))
if exp and exp > NOW then
  return ok('{"entry":{"state":"admitted","admittedAt":' .. I(exp - tonumber(r.adm)) .. ',"admissionExpiresAt":' .. I(exp)
    .. '},"snapshot":' .. snap(ek) .. '}')
end
placeEarly(ek, r, tonumber(ARGV[4]))
local pos = tonumber(redis.call('ZSCORE', kQueue(ek), u))
local rank = nil
if not pos then rank = redis.call('ZRANK', kEarly(ek), u) end
if not pos and not rank then
  if frozen(r) then
    pos = redis.call('HINCRBY', kRoom(ek), 'tail', '1')
    redis.call('ZADD', kQueue(ek), I(pos), u)
  else
    redis.call('ZADD', kEarly(ek), ARGV[3], u)
  end
  bump(ek)
end
local entry = '{"state":"waiting"}'
local ahead = 0
if rank and frozen(r) then
  -- Drawn but not moved yet: behind every moved one, in key order among the rest.
  pos = tonumber(r.pbase) + tonumber(r.pdone) + rank + 1
  ahead = rank
end
if pos then
  ahead = ahead + redis.call('ZCOUNT', kQueue(ek), '-inf', '(' .. I(pos))
  -- A later joiner also has every early joiner not moved yet ahead.
  if not rank and r.placed ~= '1' and frozen(r) and pos > tonumber(r.pbase) + tonumber(r.pdone) then
    ahead = ahead + redis.call('ZCARD', kEarly(ek))
  end
  entry = '{"state":"waiting","position":' .. I(pos) .. ',"ahead":' .. I(ahead) .. '}'
end
return ok('{"entry":' .. entry .. ',"snapshot":' .. snap(ek) .. '}')
`;

/** ARGV: ek, userId. */
const LEAVE = /* lua */ `
local ek, u = ARGV[1], ARGV[2]
if not loadRoom(ek) then return fail('QUEUE_NOT_FOUND') end
local removed = redis.call('ZREM', kEarly(ek), u) + redis.call('ZREM', kQueue(ek), u) + redis.call('ZREM', kAdm(ek), u)
redis.call('ZREM', kSeen(ek), u)
if removed > 0 then bump(ek) end
return ok('{"left":' .. tostring(removed > 0) .. ',"snapshot":' .. snap(ek) .. '}')
`;

/** ARGV: ek, userId. */
const ADMISSION = /* lua */ `
local ek, u = ARGV[1], ARGV[2]
local r = loadRoom(ek)
if not r then return fail('QUEUE_NOT_FOUND') end
local exp = tonumber(redis.call('ZSCORE', kAdm(ek), u))
if not exp or exp <= NOW then return ok('null') end
return ok('{"userId":' .. J(u) .. ',"admittedAt":' .. I(exp - tonumber(r.adm)) .. ',"expiresAt":' .. I(exp) .. '}')
`;

/** ARGV: ek, userIds… (only users already in the room are touched). */
const SEEN = /* lua */ `
local ek = ARGV[1]
for i = 2, #ARGV do redis.call('ZADD', kSeen(ek), 'XX', NOWS, ARGV[i]) end
return ok('null')
`;

/** ARGV: ek, abandonMs, maxSkips, placement chunk. */
const ADMIT = /* lua */ `
local ek = ARGV[1]
local abandonMs, maxSkips = tonumber(ARGV[2]), tonumber(ARGV[3])
local r = loadRoom(ek)
if not r then return fail('QUEUE_NOT_FOUND') end
local admitted, abandoned = {}, {}
local function result(closedNow)
  return ok('{"snapshot":' .. snap(ek) .. ',"admitted":[' .. table.concat(admitted, ',') .. '],"abandoned":['
    .. table.concat(abandoned, ',') .. '],"closedNow":' .. tostring(closedNow) .. '}')
end
if r.on ~= '1' or r.closed == '1' then return result(false) end
-- Admissions past their end: gone (their users forgotten unless they queue again).
local ended = redis.call('ZRANGEBYSCORE', kAdm(ek), '-inf', NOWS)
for _, u in ipairs(ended) do
  redis.call('ZREM', kAdm(ek), u)
  if not redis.call('ZSCORE', kQueue(ek), u) and not redis.call('ZSCORE', kEarly(ek), u) then redis.call('ZREM', kSeen(ek), u) end
end
if #ended > 0 then bump(ek) end
if r.start ~= '' and NOW < tonumber(r.start) then
  -- Nobody is admitted before the sales start, and no credit builds up meanwhile.
  redis.call('HSET', kRoom(ek), 'last', NOWS)
  return result(false)
end
placeEarly(ek, r, tonumber(ARGV[4]))
if soldOut(ek) then
  closeRoom(ek, false)
  return result(true)
end
local apm = tonumber(r.apm)
local cap = math.max(1, apm / 60) + 0.5
local credit = math.min(cap, tonumber(r.credit) + apm * math.max(0, NOW - tonumber(r.last)) / 60000)
local active = redis.call('ZCOUNT', kAdm(ek), '(' .. NOWS, '+inf')
local max, exp = tonumber(r.max), I(NOW + tonumber(r.adm))
local serving, total, skips, changed = r.serving, tonumber(r.total), 0, false
local limit = admissible(r)
while credit >= 1 and active < max and skips < maxSkips do
  local nxt = redis.call('ZRANGE', kQueue(ek), '0', '0', 'WITHSCORES')
  if #nxt == 0 or tonumber(nxt[2]) > limit then break end
  local u = nxt[1]
  redis.call('ZREM', kQueue(ek), u)
  serving = I(tonumber(nxt[2]))
  changed = true
  local seen = tonumber(redis.call('ZSCORE', kSeen(ek), u)) or 0
  if seen <= NOW - abandonMs then
    redis.call('ZREM', kSeen(ek), u)
    abandoned[#abandoned + 1] = J(u)
    skips = skips + 1
  else
    redis.call('ZADD', kAdm(ek), exp, u)
    total = total + 1
    credit = credit - 1
    active = active + 1
    admitted[#admitted + 1] = '{"userId":' .. J(u) .. ',"admittedAt":' .. NOWS .. ',"expiresAt":' .. exp .. '}'
  end
end
redis.call('HSET', kRoom(ek), 'credit', string.format('%.17g', credit), 'last', NOWS, 'serving', serving, 'total', I(total))
if changed then bump(ek) end
return result(false)
`;

const SNAPSHOTS = /* lua */ `
local out = {}
for _, ek in ipairs(redis.call('LRANGE', K_ROOMS, '0', '-1')) do out[#out + 1] = snap(ek) end
return ok('[' .. table.concat(out, ',') .. ']')
`;

/** ARGV: owner, ttlMs. Takes a free lease or renews the owner's; answers whether the owner holds it. */
const LEASE = /* lua */ `
local holder = redis.call('GET', K_LEASE)
if holder and holder ~= ARGV[1] then return ok('false') end
redis.call('SET', K_LEASE, ARGV[1], 'PX', ARGV[2])
return ok('true')
`;

/** ARGV: owner. */
const RELEASE_LEASE = /* lua */ `
if redis.call('GET', K_LEASE) == ARGV[1] then redis.call('DEL', K_LEASE) end
return ok('null')
`;

const withRoomPrelude = (body: string): string => `${ROOM_PRELUDE}\n${body}`;

export const ROOM_SCRIPTS = {
  configure: withRoomPrelude(CONFIGURE),
  join: withRoomPrelude(JOIN),
  leave: withRoomPrelude(LEAVE),
  admission: withRoomPrelude(ADMISSION),
  seen: withRoomPrelude(SEEN),
  admit: withRoomPrelude(ADMIT),
  snapshots: withRoomPrelude(SNAPSHOTS),
  lease: withRoomPrelude(LEASE),
  releaseLease: withRoomPrelude(RELEASE_LEASE),
} as const;

export type RoomScriptName = keyof typeof ROOM_SCRIPTS;
