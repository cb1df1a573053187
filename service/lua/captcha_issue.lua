-- Issues one pre-rendered challenge: charge the client's issue limit, drop a
-- few expired challenges, pop one from the pool and make it live. The pop is
-- what guarantees the same image is never served twice.
--
-- KEYS: 1 pool, 2 live hash, 3 expiry zset, 4 rate-limit key
-- ARGV: 1 ttl ms, 2 emission ms, 3 burst
local ttl = tonumber(ARGV[1])
local now = now_ms()

local check = gcra_check(4, 1, 2, now)
if check.refused > 0 then
  local usage = gcra_usage(check, false, now)
  return {'rate_limited', 1, check.retry_ms, usage[1], usage[2]}
end
gcra_charge(check, now)
local limits = gcra_usage(check, true, now)

local expired = redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', 0, 20)
if #expired > 0 then
  redis.call('HDEL', KEYS[2], unpack(expired))
  redis.call('ZREM', KEYS[3], unpack(expired))
end

local entry = redis.call('LPOP', KEYS[1])
if not entry then
  return {'empty', 0, limits[1], limits[2]}
end
local sep1 = string.find(entry, ' ', 1, true)
local sep2 = string.find(entry, ' ', sep1 + 1, true)
local id = string.sub(entry, 1, sep1 - 1)
redis.call('HSET', KEYS[2], id, string.sub(entry, sep1 + 1, sep2 - 1))
redis.call('ZADD', KEYS[3], now + ttl, id)
return {'issued', redis.call('LLEN', KEYS[1]), limits[1], limits[2], entry}
