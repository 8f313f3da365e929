/** ARGV: lockId. */
export const GET = /* lua */ `
local h = loadLock(X(1))
if not h then return ok('null') end
return ok(lockJson(h))
`;
