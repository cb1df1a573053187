-- One page of a thread's approved comments, oldest or newest first, and how
-- many the thread holds: ids sort by time, so the cursor is simply the last
-- id served, and the count is the sorted set's size.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local thread_ids = KEYS[1]
local thread_public = KEYS[2]
local after = ARGV[1]
local limit = ARGV[2]
local newest = ARGV[3]
limit = tonumber(limit)
local ids
if newest == '1' then
  ids = redis.call('ZRANGE', thread_ids, after, '-', 'BYLEX', 'REV', 'LIMIT', 0, limit + 1)
else
  ids = redis.call('ZRANGE', thread_ids, after, '+', 'BYLEX', 'LIMIT', 0, limit + 1)
end
local total = redis.call('ZCARD', thread_ids)
local more = 0
if #ids > limit then
  more = 1
  table.remove(ids)
end
if #ids == 0 then
  return {more, total}
end
local out = redis.call('HMGET', thread_public, unpack(ids))
table.insert(out, 1, total)
table.insert(out, 1, more)
return out
