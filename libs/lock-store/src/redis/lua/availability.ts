/** ARGV: ek, n, then n category keys (n = 0: every category of the event). */
export const AVAILABILITY = /* lua */ `
local ek = X(1)
local n = tonumber(X(2))
if redis.call('EXISTS', kEvent(ek)) == 0 then return fail('EVENT_NOT_FOUND') end
local cks = {}
if n == 0 then
  cks = redis.call('LRANGE', kEventCats(ek), '0', '-1')
else
  for i = 1, n do
    local ck = X(2 + i)
    if redis.call('EXISTS', kCat(catRef(ek, ck))) == 0 then return fail('CATEGORY_NOT_FOUND') end
    cks[#cks + 1] = ck
  end
end
local out = {}
for _, ck in ipairs(cks) do out[#out + 1] = availJson(catRef(ek, ck)) end
return ok('[' .. table.concat(out, ',') .. ']')
`;
