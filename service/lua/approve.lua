-- Publishes a held comment: its public projection goes to the thread, its
-- author becomes trusted for `first-comment` sites. Approving twice is harmless.
--
-- KEYS: 1 comment, 2 pending queue, 3 thread ids, 4 thread public hash, 5 trusted
-- ARGV: none
local c = redis.call('HMGET', KEYS[1], 'id', 'status', 'public', 'email_hash')
if not c[1] then
  return 'missing'
end
if c[2] ~= 'approved' then
  redis.call('HSET', KEYS[1], 'status', 'approved')
  redis.call('ZREM', KEYS[2], c[1])
  redis.call('ZADD', KEYS[3], 0, c[1])
  redis.call('HSET', KEYS[4], c[1], c[3])
end
if c[4] and c[4] ~= '' then
  redis.call('SADD', KEYS[5], c[4])
end
return 'approved'
