/** ARGV: ek, eidt, ck, cidt, total. */
export const SET_CATEGORY_TOTAL = /* lua */ `
local ek, eidt, ck, cidt = X(1), X(2), X(3), X(4)
local total = tonumber(X(5))
if not isInt(total) or total < 0 then return fail('VALIDATION_FAILED') end
ensureEvent(ek, eidt, nil)
local r = catRef(ek, ck)
-- A reserved category's size is its seat map; a bare total cannot say which seats changed.
if not ensureCat(ek, ck, cidt, total, nil) and not isReserved(r) then replaceTotal(r, total) end
applyBumps()
return ok(availJson(r))
`;
