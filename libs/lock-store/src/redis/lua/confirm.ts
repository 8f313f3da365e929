/** ARGV: lockId, orderId, hasOrderId. */
export const CONFIRM = /* lua */ `
local h = loadLock(X(1))
if not h then return fail('LOCK_NOT_FOUND') end
local orderId = nil
if X(3) == '1' then orderId = X(2) end
if h.status == 'CONFIRMED' then
  -- A repeat for the same order (or none on both) answers the same; another order never owns these tickets.
  if h.orderId == orderId then return ok(lockJson(h)) end
  local part = '"error":"LOCK_NOT_ACTIVE","status":"CONFIRMED"'
  if h.orderId then part = part .. ',"orderId":' .. J(h.orderId) end
  return finish(part)
end
if h.status == 'RELEASED' then return fail('LOCK_NOT_ACTIVE', 'RELEASED') end
if not isDue(h) and h.status == 'ACTIVE' then
  -- The category may have shrunk (inventory-changed) under the lock: sold never exceeds total.
  local c = catCounts(h.ref)
  if c.sold + tonumber(h.quantity) > c.total then return fail('INSUFFICIENT_TICKETS', 'ACTIVE') end
  return ok(confirmRec(h, orderId))
end
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
