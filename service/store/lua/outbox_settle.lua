-- Records how a delivery went: delivered (forgotten), retry later, or dead
-- (kept, with its last error, for admins to see and requeue).
--
-- KEYS: 1 outbox due, 2 outbox, 3 outbox dead
-- ARGV: 1 delivery id, 2 'delivered' | 'retry' | 'dead' | 'requeue',
--       3 delay ms, 4 entry JSON
local now = now_ms()
local id, outcome = ARGV[1], ARGV[2]
if redis.call('HEXISTS', KEYS[2], id) == 0 then
  return 'missing'
end
if outcome == 'delivered' then
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
elseif outcome == 'dead' then
  redis.call('HSET', KEYS[2], id, ARGV[4])
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[3], now, id)
else
  redis.call('HSET', KEYS[2], id, ARGV[4])
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
end
return outcome
