/**
 * ARGV: limit. Expires up to `limit` due locks and purges up to 10 × `limit` retained ones (a purge
 * is a few cheap commands; the bound keeps one call short while outpacing the expiries).
 */
export const SWEEP = /* lua */ `
local limit = tonumber(X(1))
if not isInt(limit) or limit < 0 then return fail('VALIDATION_FAILED') end
local expired, purged = 0, 0
if limit > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_DUE, '-inf', NOWS, 'LIMIT', '0', I(limit))) do
    local h = loadLock(id)
    if h and h.status == 'ACTIVE' then
      expireRec(h)
      expired = expired + 1
    else
      redis.call('ZREM', K_DUE, id)
    end
  end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_RET, '-inf', NOWS, 'LIMIT', '0', I(limit * 10))) do
    local status = redis.call('HGET', kLock(id), 'status')
    if status then
      statAdd(status, -1)
      redis.call('DEL', kLock(id))
      purged = purged + 1
    end
    redis.call('ZREM', K_RET, id)
  end
end
return ok('{"expired":' .. I(expired) .. ',"purged":' .. I(purged) .. '}')
`;
