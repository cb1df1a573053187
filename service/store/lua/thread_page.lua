-- One page of a thread's approved comments, oldest or newest first, and how
-- many the thread holds: ids sort by time, so the cursor is simply the last
-- id served, and the count is the sorted set's size.
-- Answers {more, total, count, id1..idN} and, with bodies, the public JSON of
-- each after them. The ids alone name the page (its ETag: a comment's public
-- JSON never changes once made), so a revalidation asks for no bodies.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local thread_ids = KEYS[1]
local thread_public = KEYS[2]
local after = ARGV[1]
local limit = ARGV[2]
local newest = ARGV[3]
local with_bodies = ARGV[4]
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
local out = {more, total, #ids}
for i = 1, #ids do
  out[i + 3] = ids[i]
end
if with_bodies == '1' and #ids > 0 then
  local bodies = redis.call('HMGET', thread_public, unpack(ids))
  for i = 1, #bodies do
    out[#ids + 3 + i] = bodies[i]
  end
end
return out
