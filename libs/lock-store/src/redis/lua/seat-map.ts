/**
 * ARGV: ek. Every reserved category of the event with each seat's status now; only seats that are
 * not plainly available have a state, so one HGETALL reads them all.
 */
export const SEAT_MAP = /* lua */ `
local ek = X(1)
local ev = redis.call('HMGET', kEvent(ek), 'id', 'idt', 'sver')
if not ev[1] then return fail('EVENT_NOT_FOUND') end
local raw = redis.call('HGETALL', kSeat(ek))
local state = {}
for i = 1, #raw, 2 do state[raw[i]] = raw[i + 1] end
local cats = {}
for _, ck in ipairs(redis.call('LRANGE', kEventCats(ek), '0', '-1')) do
  local r = catRef(ek, ck)
  local c = redis.call('HMGET', kCat(r), 'cid', 'cidt', 'reserved')
  if c[3] == '1' then
    local names = redis.call('LRANGE', kSeatRowNames(r), '0', '-1')
    local rows = {}
    for ri, text in ipairs(redis.call('LRANGE', kSeatRows(r), '0', '-1')) do
      local seats = {}
      for id in string.gmatch(text, '%S+') do
        seats[#seats + 1] = '{"seatId":"' .. id .. '","status":"' .. seatStatus(state[id] or false) .. '"}'
      end
      rows[#rows + 1] = '{"row":' .. J(names[ri]) .. ',"seats":[' .. table.concat(seats, ',') .. ']}'
    end
    cats[#cats + 1] = '{"categoryId":' .. JID(c[1], c[2]) .. ',"rows":[' .. table.concat(rows, ',') .. ']}'
  end
end
return ok('{"eventId":' .. JID(ev[1], ev[2]) .. ',"version":' .. (ev[3] or '1') .. ',"categories":[' .. table.concat(cats, ',') .. ']}')
`;
