/**
 * Reserved seating helpers of the prelude (CONTRACT §6), placed before the transition helpers that
 * free or sell a lock's seats. The picker and the orphan rule are the Lua twins of
 * libs/lock-domain/src/seats.ts (`bestInRow`, `pickBestAvailable`, `strandedByHold`): same
 * integer centre distance, same tie-break (leftmost), same "orphan-free first, in any row" order.
 *
 * Seat state (`seat:<ek>`): absent = available, `b` blocked, `s` sold, `h:<expiresAt>:<lockId>`
 * held — held only until that instant, so a seat of a due lock reads available without a sweep.
 * Seat ids are validated `[A-Za-z0-9_:-]{1,32}` before they reach a script, so they are printed
 * into JSON without escaping.
 */
import { KEY } from '../redis-keys.js';

export const SEAT_HELPERS = /* lua */ `
local function kSeat(ek) return P .. ':${KEY.seat}:' .. ek end
local function kSeatPos(ek) return P .. ':${KEY.seatPos}:' .. ek end
local function kSeatRows(r) return P .. ':${KEY.seatRows}:' .. r end
local function kSeatRowNames(r) return P .. ':${KEY.seatRowNames}:' .. r end
local function kSeatRequest(u, rid) return P .. ':${KEY.seatRequest}:' .. #u .. ':' .. u .. ':' .. rid end

local function words(s)
  local out = {}
  if s then for w in string.gmatch(s, '%S+') do out[#out + 1] = w end end
  return out
end
local function idsJson(ids)
  if #ids == 0 then return '[]' end
  return '["' .. table.concat(ids, '","') .. '"]'
end

-- A state as read by HGET/HMGET (false when absent) → status at NOW.
local function seatStatus(v)
  if not v then return 'available' end
  if v == 'b' then return 'blocked' end
  if v == 's' then return 'sold' end
  local exp = tonumber(string.match(v, '^h:(%d+):'))
  if exp and exp > NOW then return 'held' end
  return 'available'
end
local function heldBy(v, lockId) return v and string.sub(v, -#lockId - 1) == ':' .. lockId and string.sub(v, 1, 2) == 'h:' end

-- Seat changes of this call per event: merged, the last status of a seat wins.
local SEATCH, SEATCH_LIST = {}, {}
local function seatChange(h, seatId, status)
  local ek = h.eid
  local ev = SEATCH[ek]
  if not ev then
    ev = { eid = h.eid, eidt = h.eidt, list = {}, at = {} }
    SEATCH[ek] = ev
    SEATCH_LIST[#SEATCH_LIST + 1] = ek
  end
  local c = '{"seatId":"' .. seatId .. '","categoryId":' .. JID(h.cid, h.cidt) .. ',"status":"' .. status .. '"}'
  local i = ev.at[seatId]
  if i then ev.list[i] = c else ev.list[#ev.list + 1] = c; ev.at[seatId] = #ev.list end
end
-- Bumps each changed event's seat version once; answers the deltas' JSON.
local function seatDeltas()
  local out = {}
  for _, ek in ipairs(SEATCH_LIST) do
    local ev = SEATCH[ek]
    local v = redis.call('HINCRBY', kEvent(ek), 'sver', 1)
    out[#out + 1] = '{"eventId":' .. JID(ev.eid, ev.eidt) .. ',"fromVersion":' .. I(v - 1) .. ',"version":' .. I(v)
      .. ',"changes":[' .. table.concat(ev.list, ',') .. ']}'
  end
  return out
end

-- A lock's seats go back to available, except those another lock has taken since it fell due.
local function freeSeats(h, ids)
  if #ids == 0 then return end
  if h.status == 'ACTIVE' and tonumber(h.expiresAt) > NOW then
    -- Not due yet: every seat is still held by h (nothing takes a held seat), so none to check.
    for _, id in ipairs(ids) do seatChange(h, id, 'available') end
    redis.call('HDEL', kSeat(h.eid), unpack(ids))
    return
  end
  local states = redis.call('HMGET', kSeat(h.eid), unpack(ids))
  local gone = {}
  for i, id in ipairs(ids) do
    if heldBy(states[i], h.lockId) then
      gone[#gone + 1] = id
      seatChange(h, id, 'available')
    end
  end
  if #gone > 0 then redis.call('HDEL', kSeat(h.eid), unpack(gone)) end
end
local function sellSeats(h)
  local args = {}
  for _, id in ipairs(words(h.seats)) do
    args[#args + 1] = id
    args[#args + 1] = 's'
    seatChange(h, id, 'sold')
  end
  if #args > 0 then redis.call('HSET', kSeat(h.eid), unpack(args)) end
end
-- Marks the seats held by lock h until its expiresAt and appends them to h.seats.
local function takeSeats(h, ids)
  local state = 'h:' .. h.expiresAt .. ':' .. h.lockId
  local args = {}
  for _, id in ipairs(ids) do
    args[#args + 1] = id
    args[#args + 1] = state
    seatChange(h, id, 'held')
  end
  if #args > 0 then redis.call('HSET', kSeat(h.eid), unpack(args)) end
  local all = words(h.seats)
  for _, id in ipairs(ids) do all[#all + 1] = id end
  h.seats = table.concat(all, ' ')
end

-- Free flags of the seats named by ids (a row), at NOW.
local function freeFlags(ek, ids)
  local free = {}
  if #ids == 0 then return free end
  local st = redis.call('HMGET', kSeat(ek), unpack(ids))
  for i = 1, #ids do free[i] = seatStatus(st[i]) == 'available' end
  return free
end

-- seats.ts bestInRow: 1-based start of the q seats nearest the centre, or nil.
local function bestInRow(free, q, orphanFree)
  local n = #free
  local best, bestD = nil, nil
  local i = 1
  while i <= n do
    if free[i] then
      local s = i
      while i < n and free[i + 1] do i = i + 1 end
      for st = s, i - q + 1 do
        local strands = (st - s == 1) or (i - (st + q - 1) == 1)
        if not (orphanFree and strands) then
          local d = math.abs(2 * (st - 1) + q - n)
          if bestD == nil or d < bestD then best, bestD = st, d end
        end
      end
    end
    i = i + 1
  end
  return best
end

-- seats.ts pickBestAvailable: the seat ids, or nil (enough seats are checked free by the caller).
-- Rows are read a few at a time as the search reaches them: the first rows usually have room, and
-- a big venue's whole layout is not copied into the script for every request.
local ROWS_PER_READ = 8
local function pickBest(ek, r, q)
  local count = redis.call('LLEN', kSeatRows(r))
  local rows, cache = {}, {}
  for _, orphanFree in ipairs({ true, false }) do
    for ri = 1, count do
      local c = cache[ri]
      if not c then
        if rows[ri] == nil then
          local batch = redis.call('LRANGE', kSeatRows(r), I(ri - 1), I(ri - 2 + ROWS_PER_READ))
          for k = 1, #batch do rows[ri - 1 + k] = batch[k] end
        end
        local ids = words(rows[ri])
        c = { ids = ids, free = freeFlags(ek, ids) }
        cache[ri] = c
      end
      local st = bestInRow(c.free, q, orphanFree)
      if st then
        local out = {}
        for k = st, st + q - 1 do out[#out + 1] = c.ids[k] end
        return out
      end
    end
  end
  return nil
end

-- seats.ts strandedByHold: positions a hold at positions taking (a set) would leave alone in a row.
local function strandedInRow(free, taking, q)
  local n = #free
  local after = {}
  for i = 1, n do after[i] = free[i] and not taking[i] end
  local out = {}
  for i = 1, n do
    if after[i] and not (i > 1 and after[i - 1]) and not (i < n and after[i + 1]) then
      if (i > 1 and free[i - 1]) or (i < n and free[i + 1]) then out[#out + 1] = i end
    end
  end
  if #out == 0 or bestInRow(free, q, true) == nil then return {} end
  return out
end

local function isReserved(r) return redis.call('HGET', kCat(r), 'reserved') == '1' end
`;
