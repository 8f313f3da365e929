/** ARGV: lockId, reason, hasUserId, userId. */
export const RELEASE = /* lua */ `
local h = loadLock(X(1))
if not h then return fail('LOCK_NOT_FOUND') end
if X(3) == '1' and h.userId ~= X(4) then return fail('NOT_LOCK_OWNER') end
if h.status == 'CONFIRMED' then return fail('LOCK_NOT_ACTIVE', 'CONFIRMED') end
if h.status ~= 'ACTIVE' then return ok(lockJson(h)) end
if isDue(h) then return ok(expireRec(h)) end
return ok(releaseRec(h, X(2)))
`;
