/**
 * ARGV: userId, mode ('id' | 'cat'), lockId | ek, '' | ek | ck, quantity ('' = all), '' | ck.
 * By id, an ek (ARGV 4) / ck (ARGV 6) sent along must be the lock's.
 */
export const UNLOCK = /* lua */ `
local u, mode = X(1), X(2)
local h, refused = unlockTarget(u, mode, X(3), X(4) or '', X(6) or '')
if not h then return refused end
local refusal = notActive(h)
if refusal then return refusal end
local held = tonumber(h.quantity)
local q = held
-- A seat lock gives back seats (unlockSeats), never a bare quantity.
if h.seats and X(5) ~= '' then return fail('VALIDATION_FAILED') end
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
