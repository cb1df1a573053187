-- Takes up to `limit` deliveries that are due, pushing each one's due time a
-- lease ahead: if this worker dies mid-delivery, another takes it again then
-- (at-least-once delivery).
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local outbox_due = KEYS[1]
local outbox = KEYS[2]
local limit = ARGV[1]
local lease_ms = ARGV[2]
local now = now_ms()
local ids = redis.call('ZRANGE', outbox_due, '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(limit))
local out = {}
for _, id in ipairs(ids) do
  local entry = redis.call('HGET', outbox, id)
  if entry then
    redis.call('ZADD', outbox_due, now + tonumber(lease_ms), id)
    out[#out + 1] = id
    out[#out + 1] = entry
  else
    redis.call('ZREM', outbox_due, id)
  end
end
return out
