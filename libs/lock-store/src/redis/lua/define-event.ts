/**
 * ARGV: ek, eidt, hasName, name, replaceTotals, n, then n × (ck, cidt, total, hasName, name, sold ('' = none), seats).
 * `seats`: a reserved category's layout as JSON `{rows: [{row, seats}], blocked?}` (checked by the
 * caller; `total` is its number of sellable seats), '' for general admission.
 */
export const DEFINE_EVENT = /* lua */ `
local ek, eidt = X(1), X(2)
local ename = nil
if X(3) == '1' then ename = X(4) end
local replace = X(5) == '1'
local n = tonumber(X(6))
if not isInt(n) or n < 0 then return fail('VALIDATION_FAILED') end
local cats = {}
for i = 0, n - 1 do
  local b = 7 + i * 7
  local total = tonumber(X(b + 2))
  if not isInt(total) or total < 0 then return fail('VALIDATION_FAILED') end
  local name = nil
  if X(b + 3) == '1' then name = X(b + 4) end
  local sold = nil
  if X(b + 5) ~= '' then
    sold = tonumber(X(b + 5))
    if not isInt(sold) or sold < 0 then return fail('VALIDATION_FAILED') end
  end
  local layout = nil
  if X(b + 6) ~= '' then layout = cjson.decode(X(b + 6)) end
  cats[#cats + 1] = { ck = X(b), cidt = X(b + 1), total = total, name = name, sold = sold, layout = layout }
end
-- A seat id names one seat of the event: none may belong to another category already.
for _, c in ipairs(cats) do
  if c.layout then
    for _, row in ipairs(c.layout.rows) do
      local pos = redis.call('HMGET', kSeatPos(ek), unpack(row.seats))
      for _, p in ipairs(pos) do
        if p and string.match(p, '^(.*)|%d+|%d+$') ~= c.ck then return fail('VALIDATION_FAILED') end
      end
    end
  end
end
-- Writes a category's seat layout; seats kept across a redefinition keep their held/sold state.
local function putLayout(ck, r, layout)
  for _, text in ipairs(redis.call('LRANGE', kSeatRows(r), '0', '-1')) do
    for id in string.gmatch(text, '%S+') do
      redis.call('HDEL', kSeatPos(ek), id)
      if redis.call('HGET', kSeat(ek), id) == 'b' then redis.call('HDEL', kSeat(ek), id) end
    end
  end
  redis.call('DEL', kSeatRows(r), kSeatRowNames(r))
  for ri, row in ipairs(layout.rows) do
    redis.call('RPUSH', kSeatRows(r), table.concat(row.seats, ' '))
    redis.call('RPUSH', kSeatRowNames(r), row.row)
    local args = {}
    for pi, id in ipairs(row.seats) do
      args[#args + 1] = id
      args[#args + 1] = ck .. '|' .. ri .. '|' .. pi
      if #args >= 1000 then redis.call('HSET', kSeatPos(ek), unpack(args)); args = {} end
    end
    if #args > 0 then redis.call('HSET', kSeatPos(ek), unpack(args)) end
  end
  for _, id in ipairs(layout.blocked or {}) do
    if not redis.call('HGET', kSeat(ek), id) then redis.call('HSET', kSeat(ek), id, 'b') end
  end
  redis.call('HSET', kCat(r), 'reserved', '1')
  -- Readers keep the layout by this version (seat-map.ts).
  redis.call('HINCRBY', kEvent(ek), 'lver', 1)
end
-- Names: a reload replaces them, otherwise they only fill a gap; totals: first writer wins.
if not ensureEvent(ek, eidt, ename) and ename then
  if replace then redis.call('HSET', kEvent(ek), 'name', ename) else redis.call('HSETNX', kEvent(ek), 'name', ename) end
end
for _, c in ipairs(cats) do
  local created = ensureCat(ek, c.ck, c.cidt, c.total, c.name, c.sold)
  if c.layout and (created or replace) then putLayout(c.ck, catRef(ek, c.ck), c.layout) end
  if not created then
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
