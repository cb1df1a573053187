-- Takes up to `limit` deliveries that are due, pushing each one's due time a
-- lease ahead: if this worker dies mid-delivery, another takes it again then
-- (at-least-once delivery).
--
-- KEYS: 1 outbox due, 2 outbox
-- ARGV: 1 limit, 2 lease ms
local now = now_ms()
local ids = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, id in ipairs(ids) do
  local entry = redis.call('HGET', KEYS[2], id)
  if entry then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    out[#out + 1] = id
    out[#out + 1] = entry
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
