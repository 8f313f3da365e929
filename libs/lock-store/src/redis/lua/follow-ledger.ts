/**
 * ARGV: ek, ck, total, ledgerSold, settle ('1'/'0'), orderKey, userId, quantity.
 * sold = the ledger's sold + our confirms it does not show yet (pending); see LockStore.followLedger.
 */
export const FOLLOW_LEDGER = /* lua */ `
local ek, ck = X(1), X(2)
local total, ledger = tonumber(X(3)), tonumber(X(4))
if not isInt(total) or total < 0 or not isInt(ledger) or ledger < 0 then return fail('VALIDATION_FAILED') end
if redis.call('EXISTS', kEvent(ek)) == 0 then return fail('EVENT_NOT_FOUND') end
local r = catRef(ek, ck)
if redis.call('EXISTS', kCat(r)) == 0 then return fail('CATEGORY_NOT_FOUND') end
local kp = kCatPending(r)
-- Confirms past retention are purged with their lock: no longer pending.
redis.call('ZREMRANGEBYSCORE', kp, '-inf', I(NOW - RETAIN))
if X(5) == '1' and redis.call('SET', kLedgerOrder(r, X(6)), '1', 'NX', 'PX', I(RETAIN)) then
  -- The completed order is in the ledger now: it settles the user's oldest pending confirm of that
  -- quantity (else of any quantity).
  local pick, fallback = nil, nil
  for _, id in ipairs(redis.call('ZRANGE', kp, '0', '-1')) do
    local v = redis.call('HMGET', kLock(id), 'userId', 'quantity')
    if v[1] == X(7) then
      if v[2] == X(8) then pick = id; break end
      if not fallback then fallback = id end
    end
  end
  pick = pick or fallback
  if pick then redis.call('ZREM', kp, pick) end
end
local sold = ledger
for _, id in ipairs(redis.call('ZRANGE', kp, '0', '-1')) do
  local q = tonumber(redis.call('HGET', kLock(id), 'quantity'))
  if q then sold = sold + q else redis.call('ZREM', kp, id) end
end
redis.call('HSET', kCat(r), 'total', I(total), 'sold', I(sold), 'ledger', I(ledger))
-- Every reading is pushed to the rooms, so its version rises even when the counts stayed.
touch(r, true)
applyBumps()
return ok(availJson(r))
`;
