-- One page of a thread's approved comments, oldest first: ids sort by time,
-- so the cursor is simply the last id served.
--
-- KEYS: 1 thread ids, 2 thread public hash
-- ARGV: 1 exclusive lower bound ('-' for the start, else '(' .. id), 2 limit
local limit = tonumber(ARGV[2])
local ids = redis.call('ZRANGE', KEYS[1], ARGV[1], '+', 'BYLEX', 'LIMIT', 0, limit + 1)
local more = 0
if #ids > limit then
  more = 1
  table.remove(ids)
end
if #ids == 0 then
  return {more}
end
local out = redis.call('HMGET', KEYS[2], unpack(ids))
table.insert(out, 1, more)
return out
