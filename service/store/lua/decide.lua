-- A batch of moderation decisions, each checked and applied on its own, all
-- in one atomic call, each with its audit entry, history and webhook.
--
-- KEYS: 1-5 queues pending, reported, approved, rejected, spam; 6 lease
--       expiries, 7 lease owners, 8 trusted, 9 trusted always, 10 audit,
--       11 outbox due, 12 outbox, 13 strikes; then 4 per item: comment, thread ids,
--       thread public, history
-- ARGV: 1 key id, 2 moderator name, 3 '1' if admin, 4 number of items,
--       5 targets of comment.approved, 6 targets of comment.rejected, 7 site,
--       8 delivery id base; then 4 per item: id, action, reason, and a flag:
--       'trust' (trust the author too) or 'force' (a published comment may
--       be taken down: "reject everything of this author") or ''
local queues = {pending = KEYS[1], reported = KEYS[2], approved = KEYS[3],
                rejected = KEYS[4], spam = KEYS[5]}
local targets = {approved = ARGV[5], rejected = ARGV[6], spam = ARGV[6]}
local outcome_of = {approve = 'approved', reject = 'rejected', spam = 'spam'}
local key_id, moderator, admin = ARGV[1], ARGV[2], ARGV[3] == '1'
local now = now_ms()
local results = {}

for i = 1, tonumber(ARGV[4]) do
  local k, a = 13 + 4 * (i - 1), 8 + 4 * (i - 1)
  local comment, thread_ids, thread_public, history = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local id, action, reason = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local trust, force = ARGV[a + 4] == 'trust', ARGV[a + 4] == 'force'
  local target = outcome_of[action]
  local c = redis.call('HMGET', comment, 'status', 'thread', 'email_hash', 'public', 'visible')
  local status = c[1]
  local lease_until = tonumber(redis.call('ZSCORE', KEYS[6], id))
  local holder = redis.call('HGET', KEYS[7], id)
  if not status then
    results[i] = 'missing'
  elseif lease_until and lease_until > now and holder ~= key_id and not admin then
    results[i] = 'leased'
  elseif status == target then
    results[i] = 'unchanged'
  elseif status ~= 'pending' and status ~= 'reported' and not (force and status == 'approved') then
    results[i] = 'conflict:' .. status
  else
    redis.call('ZREM', queues[status], id)
    redis.call('ZADD', queues[target], 0, id)
    redis.call('ZREM', KEYS[6], id)
    redis.call('HDEL', KEYS[7], id)
    local fields = {'status', target, 'decided_at', now, 'decided_by', key_id}
    if target == 'approved' then
      redis.call('ZADD', thread_ids, 0, id)
      redis.call('HSET', thread_public, id, c[4])
      if c[3] and c[3] ~= '' then
        redis.call('SADD', KEYS[8], c[3])
        if trust then redis.call('SADD', KEYS[9], c[3]) end
      end
      -- Reports already reviewed do not count towards the next flag.
      local reporters = redis.call('HGET', comment, 'reports')
      fields[#fields + 1] = 'reviewed_reports'
      fields[#fields + 1] = reporters or '0'
      fields[#fields + 1] = 'visible'
      fields[#fields + 1] = '1'
    else
      redis.call('ZREM', thread_ids, id)
      redis.call('HDEL', thread_public, id)
      -- The author's history: each rejection weighs on their next comment.
      if c[3] and c[3] ~= '' then redis.call('HINCRBY', KEYS[13], c[3], 1) end
      fields[#fields + 1] = 'visible'
      fields[#fields + 1] = '0'
    end
    redis.call('HSET', comment, unpack(fields))
    local verb = action
    if trust then verb = 'approve-and-trust' end
    audit_add(KEYS[10], now, key_id, moderator, verb, id, reason)
    history_add(history, now, key_id, moderator, verb, reason)
    local event = 'comment.' .. (target == 'approved' and 'approved' or 'rejected')
    local delivery = ARGV[8] .. ':' .. i
    outbox_add(KEYS[11], KEYS[12], now, delivery, targets[target], event, function()
      return event_body(event, ARGV[7], delivery, now, c[4], c[2], target, reason)
    end)
    results[i] = target
  end
end
return results
