/**
 * ARGV: ek. The event's seat statuses now, for the seat map: only seats that are not available
 * (blocked, sold, held until their lock's expiresAt) as a flat `[seatId, status, …]` list, with the
 * event's seat `version` and its layout version. The layout itself (static between catalog
 * definitions) is read once per layout version with SEAT_LAYOUT and kept by the caller, so a map
 * of 100,000 seats costs Redis only the seats that are taken.
 */
export const SEAT_MAP = /* lua */ `
local ek = X(1)
-- An event stored before seat versions existed has no sver: it is at 0 until its first seat change.
local ev = redis.call('HMGET', kEvent(ek), 'id', 'idt', 'sver', 'lver')
if not ev[1] then return fail('EVENT_NOT_FOUND') end
local raw = redis.call('HGETALL', kSeat(ek))
local out = {}
for i = 1, #raw, 2 do
  local status = seatStatus(raw[i + 1])
  if status ~= 'available' then out[#out + 1] = '"' .. raw[i] .. '","' .. status .. '"' end
end
return ok('{"eventId":' .. JID(ev[1], ev[2]) .. ',"version":' .. (ev[3] or '0') .. ',"layout":' .. (ev[4] or '0')
  .. ',"states":[' .. table.concat(out, ',') .. ']}')
`;

/** ARGV: ek. The reserved categories' rows (seat ids space-joined) and the layout version they belong to. */
export const SEAT_LAYOUT = /* lua */ `
local ek = X(1)
local ev = redis.call('HMGET', kEvent(ek), 'id', 'idt', 'lver')
if not ev[1] then return fail('EVENT_NOT_FOUND') end
local cats = {}
for _, ck in ipairs(redis.call('LRANGE', kEventCats(ek), '0', '-1')) do
  local r = catRef(ek, ck)
  local c = redis.call('HMGET', kCat(r), 'cid', 'cidt', 'reserved')
  if c[3] == '1' then
    local names = redis.call('LRANGE', kSeatRowNames(r), '0', '-1')
    local rows = {}
    for ri, text in ipairs(redis.call('LRANGE', kSeatRows(r), '0', '-1')) do
      rows[#rows + 1] = '{"row":' .. J(names[ri]) .. ',"seats":"' .. text .. '"}'
    end
    cats[#cats + 1] = '{"categoryId":' .. JID(c[1], c[2]) .. ',"rows":[' .. table.concat(rows, ',') .. ']}'
  end
end
return ok('{"layout":' .. (ev[3] or '0') .. ',"categories":[' .. table.concat(cats, ',') .. ']}')
`;
