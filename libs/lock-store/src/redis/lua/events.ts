export const EVENTS = /* lua */ `
local out = {}
for _, ek in ipairs(redis.call('LRANGE', K_EVENTS, '0', '-1')) do
  local ev = redis.call('HMGET', kEvent(ek), 'id', 'idt', 'name')
  local cats = {}
  for _, ck in ipairs(redis.call('LRANGE', kEventCats(ek), '0', '-1')) do
    local c = redis.call('HMGET', kCat(catRef(ek, ck)), 'cid', 'cidt', 'total', 'name', 'reserved')
    local j = '{"categoryId":' .. JID(c[1], c[2]) .. ',"totalTickets":' .. c[3]
    if c[4] then j = j .. ',"name":' .. J(c[4]) end
    if c[5] == '1' then j = j .. ',"reserved":true' end
    cats[#cats + 1] = j .. '}'
  end
  local j = '{"id":' .. JID(ev[1], ev[2])
  if ev[3] then j = j .. ',"name":' .. J(ev[3]) end
  out[#out + 1] = j .. ',"categories":[' .. table.concat(cats, ',') .. ']}'
end
return ok('[' .. table.concat(out, ',') .. ']')
`;
