-- Leases up to `limit` items of a queue to one moderator, oldest first. Items
-- under someone's live lease are skipped; an expired lease is simply a free
-- item, so nothing has to run for it to return to the queue. Being one script,
-- two moderators claiming at once can never get the same item.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local queue = KEYS[1]
local lease_expiries = KEYS[2]
local lease_owners = KEYS[3]
local audit = KEYS[4]
local key_id = ARGV[1]
local limit = ARGV[2]
local lease_ms = ARGV[3]
local moderator = ARGV[4]
limit = tonumber(limit)
local lease = tonumber(lease_ms)
local now = now_ms()
local until_ms = now + lease
local got = {}
local offset = 0
while #got < limit do
  local ids = redis.call('ZRANGE', queue, '-', '+', 'BYLEX', 'LIMIT', offset, 200)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local expires = tonumber(redis.call('ZSCORE', lease_expiries, id))
    if not expires or expires <= now then
      redis.call('ZADD', lease_expiries, until_ms, id)
      redis.call('HSET', lease_owners, id, key_id)
      audit_add(audit, now, key_id, moderator, 'claim', id, '')
      got[#got + 1] = id
      if #got >= limit then break end
    end
  end
  offset = offset + #ids
end
table.insert(got, 1, until_ms)
return got
