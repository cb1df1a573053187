-- One page of a thread's approved comments, oldest first: ids sort by time,
-- so the cursor is simply the last id served.
-- Answers {more, count, id1..idN} and, with bodies, the public JSON of each
-- after them. The ids alone name the page (its ETag: a comment's public JSON
-- never changes once made), so a revalidation asks for no bodies.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local thread_ids = KEYS[1]
local thread_public = KEYS[2]
local after = ARGV[1]
local limit = ARGV[2]
local with_bodies = ARGV[3]
limit = tonumber(limit)
local ids = redis.call('ZRANGE', thread_ids, after, '+', 'BYLEX', 'LIMIT', 0, limit + 1)
local more = 0
if #ids > limit then
  more = 1
  table.remove(ids)
end
local out = {more, #ids}
for i = 1, #ids do
  out[i + 2] = ids[i]
end
if with_bodies == '1' and #ids > 0 then
  local bodies = redis.call('HMGET', thread_public, unpack(ids))
  for i = 1, #bodies do
    out[#ids + 2 + i] = bodies[i]
  end
end
return out
