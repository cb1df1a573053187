-- A batch of moderation decisions, each checked and applied on its own, all
-- in one atomic call, each with its audit entry, history and webhook.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local pending_queue = KEYS[1]
local reported_queue = KEYS[2]
local approved_queue = KEYS[3]
local rejected_queue = KEYS[4]
local spam_queue = KEYS[5]
local lease_expiries = KEYS[6]
local lease_owners = KEYS[7]
local trusted = KEYS[8]
local trusted_always = KEYS[9]
local audit = KEYS[10]
local outbox_due = KEYS[11]
local outbox = KEYS[12]
local strikes = KEYS[13]
local training = KEYS[14]  -- the decisions the learned model learns from
local item_keys = 15  -- KEYS[15..]: 4 per item: comment, thread ids, thread public, history
local key_id = ARGV[1]
local moderator = ARGV[2]
local admin = ARGV[3]
local items = ARGV[4]
local approved_targets = ARGV[5]
local rejected_targets = ARGV[6]
local site = ARGV[7]
local delivery_base = ARGV[8]
local training_max = ARGV[9]  -- entries the training stream keeps, about
local item_args = 10  -- ARGV[10..]: 4 per item: id, action, reason, and a flag:
-- 'trust' (trust the author too) or 'force' (a published comment may be
-- taken down: "reject everything of this author") or ''
local queues = {pending = pending_queue, reported = reported_queue, approved = approved_queue,
                rejected = rejected_queue, spam = spam_queue}
local targets = {approved = approved_targets, rejected = rejected_targets, spam = rejected_targets}
local outcome_of = {approve = 'approved', reject = 'rejected', spam = 'spam'}
admin = admin == '1'
local now = now_ms()
local results = {}

for i = 1, tonumber(items) do
  local k, a = item_keys + 4 * (i - 1), item_args + 4 * (i - 1)
  local comment, thread_ids, thread_public, history = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local id, action, reason = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local trust, force = ARGV[a + 3] == 'trust', ARGV[a + 3] == 'force'
  local target = outcome_of[action]
  local c = redis.call('HMGET', comment, 'status', 'thread', 'email_hash', 'public', 'visible')
  local status = c[1]
  local lease_until = tonumber(redis.call('ZSCORE', lease_expiries, id))
  local holder = redis.call('HGET', lease_owners, id)
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
    redis.call('ZREM', lease_expiries, id)
    redis.call('HDEL', lease_owners, id)
    local fields = {'status', target, 'decided_at', now, 'decided_by', key_id}
    if target == 'approved' then
      redis.call('ZADD', thread_ids, 0, id)
      redis.call('HSET', thread_public, id, c[4])
      if c[3] and c[3] ~= '' then
        redis.call('SADD', trusted, c[3])
        if trust then redis.call('SADD', trusted_always, c[3]) end
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
      if c[3] and c[3] ~= '' then redis.call('HINCRBY', strikes, c[3], 1) end
      fields[#fields + 1] = 'visible'
      fields[#fields + 1] = '0'
    end
    redis.call('HSET', comment, unpack(fields))
    -- A person's decision is a labelled example for the site's model; the
    -- screening's own verdicts never are (they would teach it its mistakes).
    redis.call('XADD', training, 'MAXLEN', '~', training_max, '*',
      'id', id, 'label', target == 'approved' and '0' or '1', 'key', key_id)
    local verb = action
    if trust then verb = 'approve-and-trust' end
    audit_add(audit, now, key_id, moderator, verb, id, reason)
    history_add(history, now, key_id, moderator, verb, reason)
    local event = 'comment.' .. (target == 'approved' and 'approved' or 'rejected')
    local delivery = delivery_base .. ':' .. i
    outbox_add(outbox_due, outbox, now, delivery, targets[target], event, function()
      return event_body(event, site, delivery, now, c[4], c[2], target, reason)
    end)
    results[i] = target
  end
end
return results
