/**
 * ARGV: lockId (for a new lock), ek, userId, sessionId, requestId ('' = none), addTo (a lockId, ''
 * = new lock), orphanRule ('reject' | 'off'), asked (what the request asked, for requestId
 * retries), n, then n seat ids (validated by the caller: 1..maxTicketsPerLock distinct seat ids).
 * The order of checks is the in-process store's `holdSeats`.
 */
export const HOLD_SEATS = /* lua */ `
local newId, ek, u, sid, rid, addTo, rule, asked = X(1), X(2), X(3), X(4), X(5), X(6), X(7), X(8)
local n = tonumber(X(9))
local ids = {}
for i = 1, n do ids[i] = X(9 + i) end
if rid ~= '' then
  local seen = redis.call('GET', kSeatRequest(u, rid))
  if seen then
    local sep = string.find(seen, '\\n', 1, true)
    local first = loadLock(string.sub(seen, 1, sep - 1))
    if first then
      if string.sub(seen, sep + 1) ~= asked then return fail('VALIDATION_FAILED') end
      return ok('{"lock":' .. lockJson(first) .. ',"replayed":true}')
    end
  end
  if loadLock(redis.call('GET', kRequest(u, rid))) then return fail('VALIDATION_FAILED') end
end
local pos = redis.call('HMGET', kSeatPos(ek), unpack(ids))
local unknown = {}
for i = 1, n do if not pos[i] then unknown[#unknown + 1] = ids[i] end end
-- Only a defined event has seat positions: the event is looked up only when a seat is unknown.
if #unknown > 0 then
  if redis.call('EXISTS', kEvent(ek)) == 0 then return fail('EVENT_NOT_FOUND') end
  return failSeats('SEAT_NOT_FOUND', unknown)
end
local ck, rowOf, posOf = nil, {}, {}
for i = 1, n do
  local c, row, p = string.match(pos[i], '^(.*)|(%d+)|(%d+)$')
  if ck and c ~= ck then return fail('VALIDATION_FAILED') end
  ck = c
  rowOf[i], posOf[i] = tonumber(row), tonumber(p)
end
local r = catRef(ek, ck)
if admissionRequired(ek, u) then return fail('ADMISSION_REQUIRED') end
local target, stale = nil, nil
if addTo ~= '' then
  target = loadLock(addTo)
  if not target then return fail('LOCK_NOT_FOUND') end
  if target.userId ~= u then return fail('NOT_LOCK_OWNER') end
  local refusal = notActive(target)
  if refusal then return refusal end
  if target.ref ~= r or not target.seats then return fail('VALIDATION_FAILED') end
  if tonumber(target.quantity) + n > MAXTICKETS then return fail('VALIDATION_FAILED') end
else
  stale = loadLock(redis.call('HGET', kUserCats(u), r))
  if stale and stale.status == 'ACTIVE' then
    if not isDue(stale) then return fail('DUPLICATE_LOCK') end
  else
    stale = nil
  end
  if redis.call('ZCOUNT', kUserLocks(u), '(' .. NOWS, '+inf') >= MAXACTIVE then return fail('TOO_MANY_LOCKS') end
end
local states = redis.call('HMGET', kSeat(ek), unpack(ids))
local taken = {}
for i = 1, n do if seatStatus(states[i]) ~= 'available' then taken[#taken + 1] = ids[i] end end
if #taken > 0 then return failSeats('SEATS_UNAVAILABLE', taken) end
if rule == 'reject' then
  -- Per row touched, in the order the request first names it (seats.ts strandedByHold).
  local rows, order = {}, {}
  for i = 1, n do
    local row = rowOf[i]
    if not rows[row] then rows[row] = { taking = {}, q = 0 }; order[#order + 1] = row end
    rows[row].taking[posOf[i]] = true
    rows[row].q = rows[row].q + 1
  end
  -- Only the rows touched are read (LINDEX), not the category's whole layout.
  local stranded = {}
  for _, row in ipairs(order) do
    local rowIds = words(redis.call('LINDEX', kSeatRows(r), I(row - 1)))
    for _, p in ipairs(strandedInRow(freeFlags(ek, rowIds), rows[row].taking, rows[row].q)) do stranded[#stranded + 1] = rowIds[p] end
  end
  if #stranded > 0 then return failSeats('ORPHAN_SEAT', stranded) end
end
local h
if target then
  -- Added to the lock: counts change, its expiresAt does not, no lifecycle transition.
  h = target
  takeSeats(h, ids)
  h.quantity = I(tonumber(h.quantity) + n)
  setFields(h, 'quantity', 'seats')
  redis.call('HINCRBY', kCat(r), 'locked', I(n))
  touch(r, true)
else
  if stale then expireRec(stale) end
  local c = redis.call('HMGET', kCat(r), 'eid', 'eidt', 'cid', 'cidt')
  local exp = I(NOW + DUR)
  h = {
    lockId = newId, eid = c[1], eidt = c[2], cid = c[3], cidt = c[4], ref = r, quantity = I(n),
    userId = u, sessionId = sid, status = 'ACTIVE', createdAt = NOWS, expiresAt = exp,
  }
  if rid ~= '' then h.requestId = rid end
  takeSeats(h, ids)
  setFields(h, 'lockId', 'eid', 'eidt', 'cid', 'cidt', 'ref', 'quantity', 'userId', 'sessionId', 'status', 'createdAt', 'expiresAt', 'requestId', 'seats')
  grantLock(h, exp, n)
end
if rid ~= '' then redis.call('SET', kSeatRequest(u, rid), h.lockId .. '\\n' .. asked, 'PX', I(RETAIN)) end
if target then return ok('{"lock":' .. lockJson(h) .. ',"replayed":false}') end
return ok('{"lock":' .. emit('created', h) .. ',"replayed":false}')
`;
