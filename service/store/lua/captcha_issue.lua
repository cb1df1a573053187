-- Issues one pre-rendered challenge: charge the client's issue limit, drop a
-- few expired challenges, pop one from the pool and make it live. The pop is
-- what guarantees the same image is never served twice.
--
-- KEYS: 1 pool, 2 live hash, 3 expiry zset, 4.. rate-limit keys
-- ARGV: 1 ttl ms, 2 number of limits, 3.. emission/burst pairs
-- Answers: outcome, a number (the refusing limit, or the pool's level), the
-- retry ms or the entry (its spoken clip left in Redis), then remaining/reset
-- ms per limit.
local ttl = tonumber(ARGV[1])
local now = now_ms()

local check = gcra_check(4, tonumber(ARGV[2]), 3, now)
if check.refused > 0 then
  return gcra_reply(check, now, false, 'rate_limited', check.refused, check.retry_ms)
end
gcra_charge(check, now)

local expired = redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', 0, 20)
if #expired > 0 then
  local fields = {}
  for _, gone in ipairs(expired) do
    table.insert(fields, gone)
    table.insert(fields, gone .. '/audio')
    table.insert(fields, gone .. '/plays')
  end
  redis.call('HDEL', KEYS[2], unpack(fields))
  redis.call('ZREM', KEYS[3], unpack(expired))
end

-- An entry is `id hmac base64png` or `id hmac base64png wav`.
local entry = redis.call('LPOP', KEYS[1])
if not entry then
  return gcra_reply(check, now, true, 'empty', 0, '')
end
local sep1 = string.find(entry, ' ', 1, true)
local sep2 = string.find(entry, ' ', sep1 + 1, true)
local sep3 = string.find(entry, ' ', sep2 + 1, true)
local id = string.sub(entry, 1, sep1 - 1)
redis.call('HSET', KEYS[2], id, string.sub(entry, sep1 + 1, sep2 - 1))
if sep3 then
  redis.call('HSET', KEYS[2], id .. '/audio', string.sub(entry, sep3 + 1))
  entry = string.sub(entry, 1, sep3 - 1)
end
redis.call('ZADD', KEYS[3], now + ttl, id)
return gcra_reply(check, now, true, 'issued', redis.call('LLEN', KEYS[1]), entry)
