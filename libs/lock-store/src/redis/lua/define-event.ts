/** ARGV: ek, eidt, hasName, name, replaceTotals, n, then n × (ck, cidt, total, hasName, name). */
export const DEFINE_EVENT = /* lua */ `
local ek, eidt = X(1), X(2)
local ename = nil
if X(3) == '1' then ename = X(4) end
local replace = X(5) == '1'
local n = tonumber(X(6))
if not isInt(n) or n < 0 then return fail('VALIDATION_FAILED') end
local cats = {}
for i = 0, n - 1 do
  local b = 7 + i * 5
  local total = tonumber(X(b + 2))
  if not isInt(total) or total < 0 then return fail('VALIDATION_FAILED') end
  local name = nil
  if X(b + 3) == '1' then name = X(b + 4) end
  cats[#cats + 1] = { ck = X(b), cidt = X(b + 1), total = total, name = name }
end
-- Names: a reload replaces them, otherwise they only fill a gap; totals: first writer wins.
if not ensureEvent(ek, eidt, ename) and ename then
  if replace then redis.call('HSET', kEvent(ek), 'name', ename) else redis.call('HSETNX', kEvent(ek), 'name', ename) end
end
for _, c in ipairs(cats) do
  if not ensureCat(ek, c.ck, c.cidt, c.total, c.name) then
    local r = catRef(ek, c.ck)
    if c.name then
      if replace then redis.call('HSET', kCat(r), 'name', c.name) else redis.call('HSETNX', kCat(r), 'name', c.name) end
    end
    if replace then replaceTotal(r, c.total) end
  end
end
applyBumps()
local out = {}
for _, ck in ipairs(redis.call('LRANGE', kEventCats(ek), '0', '-1')) do out[#out + 1] = availJson(catRef(ek, ck)) end
return ok('[' .. table.concat(out, ',') .. ']')
`;
