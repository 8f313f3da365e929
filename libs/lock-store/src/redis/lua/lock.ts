/** ARGV: lockId, ek, ck, quantity, userId, sessionId, requestId ('' = none). */
export const LOCK = /* lua */ `
local lockId, ek, ck, u, sid, rid = X(1), X(2), X(3), X(5), X(6), X(7)
local q = tonumber(X(4))
if not isInt(q) or q < 1 or q > MAXTICKETS then return fail('VALIDATION_FAILED') end
if rid ~= '' then
  local first = loadLock(redis.call('GET', kRequest(u, rid)))
  -- Remembered for RETAIN from the lock's creation by NOW, not only by the key's TTL (a test clock).
  if first and tonumber(first.createdAt) + RETAIN > NOW then
    -- A retry must be the same request: another event, category or quantity is not one.
    if first.ref ~= catRef(ek, ck) or (first.rq or first.quantity) ~= I(q) then
      return finish('"error":"VALIDATION_FAILED","message":"requestId was already used for another request"')
    end
    return ok('{"lock":' .. lockJson(first) .. ',"replayed":true}')
  end
end
if redis.call('EXISTS', kEvent(ek)) == 0 then return fail('EVENT_NOT_FOUND') end
local r = catRef(ek, ck)
local c = catCounts(r)
if not c then return fail('CATEGORY_NOT_FOUND') end
if admissionRequired(ek, u) then return fail('ADMISSION_REQUIRED') end
-- A due lock of this user here no longer blocks; its expiry is recorded only if we grant.
local stale = loadLock(redis.call('HGET', kUserCats(u), r))
if stale and stale.status == 'ACTIVE' then
  if not isDue(stale) then return fail('DUPLICATE_LOCK') end
else
  stale = nil
end
if redis.call('ZCOUNT', kUserLocks(u), '(' .. NOWS, '+inf') >= MAXACTIVE then return fail('TOO_MANY_LOCKS') end
if c.avail < q then return fail('INSUFFICIENT_TICKETS') end
-- A reserved category: the quantity is best available seats (seat-helpers pickBest).
local picked = nil
if isReserved(r) then
  picked = pickBest(ek, r, q)
  if not picked then return fail('NO_ADJACENT_SEATS') end
end
if stale then expireRec(stale) end
local exp = I(NOW + DUR)
local h = {
  lockId = lockId, eid = c.eid, eidt = c.eidt, cid = c.cid, cidt = c.cidt, ref = r, quantity = I(q),
  userId = u, sessionId = sid, status = 'ACTIVE', createdAt = NOWS, expiresAt = exp,
}
if rid ~= '' then
  h.requestId = rid
  -- The quantity asked for, kept apart from quantity (a partial unlock lowers that).
  h.rq = I(q)
  redis.call('SET', kRequest(u, rid), lockId, 'PX', I(RETAIN))
end
if picked then takeSeats(h, picked) end
setFields(h, 'lockId', 'eid', 'eidt', 'cid', 'cidt', 'ref', 'quantity', 'userId', 'sessionId', 'status', 'createdAt', 'expiresAt', 'requestId', 'rq', 'seats')
grantLock(h, exp, q)
return ok('{"lock":' .. emit('created', h) .. ',"replayed":false}')
`;
