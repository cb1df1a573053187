-- Gives dead deliveries a fresh set of attempts, due now: the ones named,
-- or, with none named, the oldest dead up to a limit. Ids that are not dead
-- (unknown, delivered, already requeued) are skipped. Returns the ids
-- requeued.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local outbox_due = KEYS[1]
local outbox = KEYS[2]
local outbox_dead = KEYS[3]
local limit = ARGV[1]
local ids = 2  -- ARGV[2..]: the delivery ids; none: the oldest dead
local now = now_ms()
local wanted = {}
for i = ids, #ARGV do
  wanted[#wanted + 1] = ARGV[i]
end
if #wanted == 0 then
  wanted = redis.call('ZRANGE', outbox_dead, 0, tonumber(limit) - 1)
end
local requeued = {}
for _, id in ipairs(wanted) do
  local raw = redis.call('HGET', outbox, id)
  if raw and redis.call('ZSCORE', outbox_dead, id) then
    local entry = cjson.decode(raw)
    entry.attempts = 0
    redis.call('HSET', outbox, id, cjson.encode(entry))
    redis.call('ZREM', outbox_dead, id)
    redis.call('ZADD', outbox_due, now, id)
    requeued[#requeued + 1] = id
  end
end
return requeued
