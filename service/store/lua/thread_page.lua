-- One page of a thread's approved comments, oldest first: ids sort by time,
-- so the cursor is simply the last id served.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local thread_ids = KEYS[1]
local thread_public = KEYS[2]
local after = ARGV[1]
local limit = ARGV[2]
limit = tonumber(limit)
local ids = redis.call('ZRANGE', thread_ids, after, '+', 'BYLEX', 'LIMIT', 0, limit + 1)
local more = 0
if #ids > limit then
  more = 1
  table.remove(ids)
end
if #ids == 0 then
  return {more}
end
local out = redis.call('HMGET', thread_public, unpack(ids))
table.insert(out, 1, more)
return out
