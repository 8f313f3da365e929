export const STATS = /* lua */ `
local s = redis.call('HMGET', K_STATS, 'ACTIVE', 'EXPIRED', 'CONFIRMED', 'RELEASED')
local active, expired = tonumber(s[1]) or 0, tonumber(s[2]) or 0
local confirmed, released = tonumber(s[3]) or 0, tonumber(s[4]) or 0
-- Recorded ACTIVE but past expiresAt: EXPIRED for every reader.
local due = redis.call('ZCOUNT', K_DUE, '-inf', NOWS)
active = active - due
expired = expired + due
local users = redis.call('ZCOUNT', K_USERS, '(' .. NOWS, '+inf')
local cats = redis.call('ZCOUNT', K_CATS, '(' .. NOWS, '+inf')
return ok('{"totalLocks":' .. I(active + expired + confirmed + released) .. ',"activeLocks":' .. I(active)
  .. ',"usersWithLocks":' .. I(users) .. ',"categoriesWithLocks":' .. I(cats)
  .. ',"locksByStatus":{"active":' .. I(active) .. ',"expired":' .. I(expired)
  .. ',"confirmed":' .. I(confirmed) .. ',"released":' .. I(released) .. '}}')
`;
