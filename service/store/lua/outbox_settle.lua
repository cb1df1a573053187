-- Records how a delivery went: delivered (forgotten), retry later, or dead
-- (kept, with its last error, for admins to see and requeue).
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local outbox_due = KEYS[1]
local outbox = KEYS[2]
local outbox_dead = KEYS[3]
local delivery_id = ARGV[1]
local outcome = ARGV[2]
local delay_ms = ARGV[3]
local entry = ARGV[4]
local now = now_ms()
local id = delivery_id
if redis.call('HEXISTS', outbox, id) == 0 then
  return 'missing'
end
if outcome == 'delivered' then
  redis.call('HDEL', outbox, id)
  redis.call('ZREM', outbox_due, id)
elseif outcome == 'dead' then
  redis.call('HSET', outbox, id, entry)
  redis.call('ZREM', outbox_due, id)
  redis.call('ZADD', outbox_dead, now, id)
else
  redis.call('HSET', outbox, id, entry)
  redis.call('ZREM', outbox_dead, id)
  redis.call('ZADD', outbox_due, now + tonumber(delay_ms), id)
end
return outcome
