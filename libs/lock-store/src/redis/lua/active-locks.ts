/** ARGV: userId. */
export const ACTIVE_LOCKS = /* lua */ `
local list = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', kUserLocks(X(1)), '(' .. NOWS, '+inf')) do
  local h = loadLock(id)
  if h then list[#list + 1] = h end
end
table.sort(list, byCreation)
return ok(locksJson(list))
`;
