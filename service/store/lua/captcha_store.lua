-- Makes challenges live without the pool: the empty-pool fallback and
-- `loibinh captcha mint`.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local captcha_live = KEYS[1]
local captcha_expiry = KEYS[2]
local ttl_ms = ARGV[1]
local challenges = 2  -- ARGV[2..]: triples of id, answer hmac, spoken clip ('' for none)
local now = now_ms()
local expires = now + tonumber(ttl_ms)
for i = challenges, #ARGV, 3 do
  redis.call('HSET', captcha_live, ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= '' then
    redis.call('HSET', captcha_live, ARGV[i] .. '/audio', ARGV[i + 2])
  end
  redis.call('ZADD', captcha_expiry, expires, ARGV[i])
end
return (#ARGV - challenges + 1) / 3
