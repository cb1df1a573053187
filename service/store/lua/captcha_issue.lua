-- Issues one pre-rendered challenge: charge the client's issue limit, drop a
-- few expired challenges, pop one from the pool and make it live. The pop is
-- what guarantees the same image is never served twice.
-- Answers: outcome, a number (the refusing limit, or the pool's level), the
-- retry ms or the entry (its spoken clip left in Redis), then remaining/reset
-- ms per limit.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local pool = KEYS[1]
local captcha_live = KEYS[2]
local captcha_expiry = KEYS[3]
local limit_keys = 4  -- KEYS[4..]
local ttl_ms = ARGV[1]
local limit_args = 2  -- ARGV[2..]
local ttl = tonumber(ttl_ms)
local now = now_ms()

local check = gcra_check(limit_keys, limit_args, now)
if check.refused > 0 then
  return gcra_reply(check, now, false, 'rate_limited', check.refused, check.retry_ms)
end
gcra_charge(check, now)

local expired = redis.call('ZRANGE', captcha_expiry, '-inf', now, 'BYSCORE', 'LIMIT', 0, 20)
if #expired > 0 then
  local fields = {}
  for _, gone in ipairs(expired) do
    table.insert(fields, gone)
    table.insert(fields, gone .. '/audio')
    table.insert(fields, gone .. '/plays')
  end
  redis.call('HDEL', captcha_live, unpack(fields))
  redis.call('ZREM', captcha_expiry, unpack(expired))
end

-- An entry is `id hmac base64png` or `id hmac base64png wav`.
local entry = redis.call('LPOP', pool)
if not entry then
  return gcra_reply(check, now, true, 'empty', 0, '')
end
local sep1 = string.find(entry, ' ', 1, true)
local sep2 = string.find(entry, ' ', sep1 + 1, true)
local sep3 = string.find(entry, ' ', sep2 + 1, true)
local id = string.sub(entry, 1, sep1 - 1)
redis.call('HSET', captcha_live, id, string.sub(entry, sep1 + 1, sep2 - 1))
if sep3 then
  redis.call('HSET', captcha_live, id .. '/audio', string.sub(entry, sep3 + 1))
  entry = string.sub(entry, 1, sep3 - 1)
end
redis.call('ZADD', captcha_expiry, now + ttl, id)
return gcra_reply(check, now, true, 'issued', redis.call('LLEN', pool), entry)
