/**
 * ARGV: userId, mode ('id' | 'cat'), lockId | ek, '' | ek | ck, '' | ck | '', n, then n seat ids (validated by the caller).
 * By id, an ek (ARGV 4) / ck (ARGV 5) sent along must be the lock's.
 */
export const UNLOCK_SEATS = /* lua */ `
local u, mode = X(1), X(2)
local h, refused = unlockTarget(u, mode, X(3), X(4) or '', X(5) or '')
if not h then return refused end
local refusal = notActive(h)
if refusal then return refusal end
if not h.seats then return fail('VALIDATION_FAILED') end
local n = tonumber(X(6))
local current = words(h.seats)
local mine, giving, foreign = {}, {}, {}
for _, id in ipairs(current) do mine[id] = true end
for i = 1, n do
  local id = X(6 + i)
  if mine[id] then giving[id] = true else foreign[#foreign + 1] = id end
end
if #foreign > 0 then return failSeats('VALIDATION_FAILED', foreign) end
local j
if n < #current then
  -- Not a lifecycle transition, but the counts (and so the version) change.
  local rest, freed = {}, {}
  for _, id in ipairs(current) do
    if giving[id] then freed[#freed + 1] = id else rest[#rest + 1] = id end
  end
  freeSeats(h, freed)
  h.seats = table.concat(rest, ' ')
  h.quantity = I(#rest)
  setFields(h, 'quantity', 'seats')
  redis.call('HINCRBY', kCat(h.ref), 'locked', I(-n))
  touch(h.ref, true)
  j = lockJson(h)
else
  j = releaseRec(h, 'user-unlock')
end
return ok('{"lock":' .. j .. ',"releasedQuantity":' .. I(n) .. ',"remainingQuantity":' .. I(#current - n) .. '}')
`;
