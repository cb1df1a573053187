-- Erasure: every comment of one author and every trace of their email, in
-- one atomic call. The caller read the author's comments first; if the set
-- changed since, nothing is done and the caller reads again.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local author_comments = KEYS[1]
local trusted = KEYS[2]
local trusted_always = KEYS[3]
local pending_queue = KEYS[4]
local reported_queue = KEYS[5]
local approved_queue = KEYS[6]
local rejected_queue = KEYS[7]
local spam_queue = KEYS[8]
local lease_expiries = KEYS[9]
local lease_owners = KEYS[10]
local outbox = KEYS[11]
local outbox_due = KEYS[12]
local outbox_dead = KEYS[13]
local audit = KEYS[14]
local email_ban = KEYS[15]
local ban_records = KEYS[16]
local email_limit = KEYS[17]
local strikes = KEYS[18]
local model_labels = KEYS[19]  -- what the learned model learned of each comment
local comment_keys = 20  -- KEYS[20..]: 5 per comment: comment, thread ids, thread
-- public, history, reporters; then the rate-limit keys and captcha failure
-- counts of the comments' addresses
local email_hash = ARGV[1]
local key_id = ARGV[2]
local moderator = ARGV[3]
local comments = ARGV[4]
local deliveries = ARGV[5]
local bans = ARGV[6]
local ids = 7  -- ARGV[7..]: the comment ids, delivery ids and ban ids
local n, d, b = tonumber(comments), tonumber(deliveries), tonumber(bans)
if redis.call('SCARD', author_comments) ~= n then
  return {'changed'}
end
local now = now_ms()
for i = 1, n do
  local id = ARGV[ids + i - 1]
  local k = comment_keys + 5 * (i - 1)
  if redis.call('SISMEMBER', author_comments, id) == 0 then
    return {'changed'}
  end
  for _, queue in ipairs({pending_queue, reported_queue, approved_queue, rejected_queue, spam_queue}) do
    redis.call('ZREM', queue, id)
  end
  redis.call('ZREM', lease_expiries, id)
  redis.call('HDEL', model_labels, id)
  redis.call('HDEL', lease_owners, id)
  redis.call('ZREM', KEYS[k + 1], id)
  redis.call('HDEL', KEYS[k + 2], id)
  redis.call('DEL', KEYS[k], KEYS[k + 3], KEYS[k + 4])
end
for i = 1, d do
  local delivery = ARGV[ids + n + i - 1]
  redis.call('HDEL', outbox, delivery)
  redis.call('ZREM', outbox_due, delivery)
  redis.call('ZREM', outbox_dead, delivery)
end
for i = 1, b do
  redis.call('HDEL', ban_records, ARGV[ids + n + d + i - 1])
end
-- Rate-limit state of the addresses the comments came from: keys after the
-- comments' own, deleted whole (a limiter forgetting early is harmless).
for k = comment_keys + 5 * n, #KEYS do
  redis.call('DEL', KEYS[k])
end
redis.call('DEL', author_comments, email_ban, email_limit)
redis.call('SREM', trusted, email_hash)
redis.call('SREM', trusted_always, email_hash)
redis.call('HDEL', strikes, email_hash)
-- The tombstone: that an erasure happened and how much it removed, nothing more.
audit_add(audit, now, key_id, moderator, 'erasure', '', n .. ' comments')
return {'erased', n}
