-- Makes challenges live without the pool: the empty-pool fallback and
-- `loibinh captcha mint`.
--
-- KEYS: 1 live hash, 2 expiry zset
-- ARGV: 1 ttl ms, then pairs of id, answer hmac
local now = now_ms()
local expires = now + tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], expires, ARGV[i])
end
return (#ARGV - 1) / 2
