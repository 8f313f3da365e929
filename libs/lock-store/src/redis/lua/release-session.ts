/** ARGV: sessionId, reason. Due locks are left to the sweep (they hold nothing already). */
export const RELEASE_SESSION = /* lua */ `
local list = {}
for _, id in ipairs(redis.call('SMEMBERS', kSession(X(1)))) do
  local h = loadLock(id)
  if h and h.status == 'ACTIVE' and not isDue(h) then list[#list + 1] = h end
end
table.sort(list, byCreation)
for _, h in ipairs(list) do releaseRec(h, X(2)) end
return ok(locksJson(list))
`;
