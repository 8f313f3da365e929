/** ARGV: lockId, orderId, hasOrderId. */
export const CONFIRM = /* lua */ `
local h = loadLock(X(1))
if not h then return fail('LOCK_NOT_FOUND') end
if h.status == 'CONFIRMED' then return ok(lockJson(h)) end
if h.status == 'RELEASED' then return fail('LOCK_NOT_ACTIVE', 'RELEASED') end
local orderId = nil
if X(3) == '1' then orderId = X(2) end
if not isDue(h) and h.status == 'ACTIVE' then return ok(confirmRec(h, orderId)) end
-- Late confirm: the lock no longer counts, so it fits only if its quantity (its very seats) is free again now.
local fits
if h.seats then
  fits = true
  for _, id in ipairs(words(h.seats)) do
    local v = redis.call('HGET', kSeat(h.eid), id)
    if seatStatus(v) ~= 'available' and not heldBy(v, h.lockId) then fits = false end
  end
else
  fits = catCounts(h.ref).avail >= tonumber(h.quantity)
end
if h.status == 'ACTIVE' then expireRec(h) end
if not fits then return fail('LOCK_EXPIRED', 'EXPIRED') end
return ok(confirmRec(h, orderId))
`;
