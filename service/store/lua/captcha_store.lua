-- Makes challenges live without the pool: the empty-pool fallback and
-- `loibinh captcha mint`.
--
-- KEYS: 1 live hash, 2 expiry zset
-- ARGV: 1 ttl ms, then triples of id, answer hmac, spoken clip ('' for none)
local now = now_ms()
local expires = now + tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= '' then
    redis.call('HSET', KEYS[1], ARGV[i] .. '/audio', ARGV[i + 2])
  end
  redis.call('ZADD', KEYS[2], expires, ARGV[i])
end
return (#ARGV - 1) / 3
