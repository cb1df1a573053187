-- Records how a delivery went: delivered (forgotten), retry later, or dead
-- (kept, with its last error, for admins to see and requeue). The dead are
-- kept for a while and up to a number: each new one first drops those past
-- their time, then the oldest beyond the cap, so a receiver that stays down
-- cannot grow Redis without bound.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local outbox_due = KEYS[1]
local outbox = KEYS[2]
local outbox_dead = KEYS[3]
local delivery_id = ARGV[1]
local outcome = ARGV[2]
local delay_ms = ARGV[3]
local entry = ARGV[4]
local dead_keep_ms = ARGV[5]
local dead_max = ARGV[6]
local now = now_ms()
local id = delivery_id
if redis.call('HEXISTS', outbox, id) == 0 then
  return 'missing'
end

local function forget(ids)
  if #ids > 0 then
    redis.call('HDEL', outbox, unpack(ids))
    redis.call('ZREM', outbox_dead, unpack(ids))
  end
end

if outcome == 'delivered' then
  redis.call('HDEL', outbox, id)
  redis.call('ZREM', outbox_due, id)
elseif outcome == 'dead' then
  redis.call('HSET', outbox, id, entry)
  redis.call('ZREM', outbox_due, id)
  redis.call('ZADD', outbox_dead, now, id)
  -- In batches that unpack() takes whole.
  repeat
    local old = redis.call('ZRANGEBYSCORE', outbox_dead, '-inf', '(' .. (now - tonumber(dead_keep_ms)),
      'LIMIT', 0, 1000)
    forget(old)
  until #old < 1000
  local excess = redis.call('ZCARD', outbox_dead) - tonumber(dead_max)
  while excess > 0 do
    local oldest = redis.call('ZRANGE', outbox_dead, 0, math.min(excess, 1000) - 1)
    forget(oldest)
    excess = excess - #oldest
  end
else
  redis.call('HSET', outbox, id, entry)
  redis.call('ZREM', outbox_dead, id)
  redis.call('ZADD', outbox_due, now + tonumber(delay_ms), id)
end
return outcome
