-- Leases up to `limit` items of a queue to one moderator, oldest first. Items
-- under someone's live lease are skipped; an expired lease is simply a free
-- item, so nothing has to run for it to return to the queue. Being one script,
-- two moderators claiming at once can never get the same item.
--
-- KEYS: 1 queue, 2 lease expiries, 3 lease owners, 4 audit
-- ARGV: 1 key id, 2 limit, 3 lease ms, 4 moderator name
local limit = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local now = now_ms()
local until_ms = now + lease
local got = {}
local offset = 0
while #got < limit do
  local ids = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX', 'LIMIT', offset, 200)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local expires = tonumber(redis.call('ZSCORE', KEYS[2], id))
    if not expires or expires <= now then
      redis.call('ZADD', KEYS[2], until_ms, id)
      redis.call('HSET', KEYS[3], id, ARGV[1])
      audit_add(KEYS[4], now, ARGV[1], ARGV[4], 'claim', id, '')
      got[#got + 1] = id
      if #got >= limit then break end
    end
  end
  offset = offset + #ids
end
table.insert(got, 1, until_ms)
return got
