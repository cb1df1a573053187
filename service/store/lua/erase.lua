-- Erasure: every comment of one author and every trace of their email, in
-- one atomic call. The caller read the author's comments first; if the set
-- changed since, nothing is done and the caller reads again.
--
-- KEYS: 1 author index, 2 trusted, 3 trusted always, 4-8 queues pending,
--       reported, approved, rejected, spam, 9 lease expiries, 10 lease owners,
--       11 outbox, 12 outbox due, 13 outbox dead, 14 audit, 15 email ban,
--       16 ban records, 17 email rate-limit key, 18 strikes; then 5 per comment: comment,
--       thread ids, thread public, history, reporters; then the rate-limit
--       keys and captcha failure counts of the comments' addresses
-- ARGV: 1 email hash, 2 key id, 3 moderator, 4 comments, 5 deliveries,
--       6 ban records; then the comment ids, delivery ids and ban ids
local n, d, b = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('SCARD', KEYS[1]) ~= n then
  return {'changed'}
end
local now = now_ms()
for i = 1, n do
  local id = ARGV[6 + i]
  local k = 18 + 5 * (i - 1)
  if redis.call('SISMEMBER', KEYS[1], id) == 0 then
    return {'changed'}
  end
  for q = 4, 8 do redis.call('ZREM', KEYS[q], id) end
  redis.call('ZREM', KEYS[9], id)
  redis.call('HDEL', KEYS[10], id)
  redis.call('ZREM', KEYS[k + 2], id)
  redis.call('HDEL', KEYS[k + 3], id)
  redis.call('DEL', KEYS[k + 1], KEYS[k + 4], KEYS[k + 5])
end
for i = 1, d do
  local delivery = ARGV[6 + n + i]
  redis.call('HDEL', KEYS[11], delivery)
  redis.call('ZREM', KEYS[12], delivery)
  redis.call('ZREM', KEYS[13], delivery)
end
for i = 1, b do
  redis.call('HDEL', KEYS[16], ARGV[6 + n + d + i])
end
-- Rate-limit state of the addresses the comments came from: keys after the
-- comments' own, deleted whole (a limiter forgetting early is harmless).
for k = 19 + 5 * n, #KEYS do
  redis.call('DEL', KEYS[k])
end
redis.call('DEL', KEYS[1], KEYS[15], KEYS[17])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[18], ARGV[1])
-- The tombstone: that an erasure happened and how much it removed, nothing more.
audit_add(KEYS[14], now, ARGV[2], ARGV[3], 'erasure', '', n .. ' comments')
return {'erased', n}
