/** ARGV: userId, mode ('id' | 'cat'), lockId | ek, ck, n, then n seat ids (validated by the caller). */
export const UNLOCK_SEATS = /* lua */ `
local u, mode = X(1), X(2)
local h
if mode == 'id' then
  h = loadLock(X(3))
  if not h then return fail('LOCK_NOT_FOUND') end
  if h.userId ~= u then return fail('NOT_LOCK_OWNER') end
else
  h = loadLock(redis.call('HGET', kUserCats(u), catRef(X(3), X(4))))
  if not h or h.status ~= 'ACTIVE' then return fail('LOCK_NOT_FOUND') end
end
local refusal = notActive(h)
if refusal then return refusal end
if not h.seats then return fail('VALIDATION_FAILED') end
local n = tonumber(X(5))
local current = words(h.seats)
local mine, giving, foreign = {}, {}, {}
for _, id in ipairs(current) do mine[id] = true end
for i = 1, n do
  local id = X(5 + i)
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
