/** ARGV: lockId, userId. */
export const EXTEND = /* lua */ `
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
  -- Held seats carry their lock's expiresAt (exact seat expiry without a lookup).
  if h.seats then
    for _, id in ipairs(words(h.seats)) do
      if heldBy(redis.call('HGET', kSeat(h.eid), id), h.lockId) then
        redis.call('HSET', kSeat(h.eid), id, 'h:' .. h.expiresAt .. ':' .. h.lockId)
      end
    end
  end
end
return ok(lockJson(h))
`;
