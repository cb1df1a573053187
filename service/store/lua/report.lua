-- A reader reports a published comment. Reports count once per reader
-- (pseudonymised address); at the site's threshold the comment moves to the
-- `reported` queue and, if the site says so, is hidden until reviewed.
-- Answers: outcome, a number (the refusing limit's index, or the count of
-- reports), retry ms or 0, then remaining/reset ms per limit.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local comment = KEYS[1]
local reporters = KEYS[2]
local thread_ids = KEYS[3]
local thread_public = KEYS[4]
local history = KEYS[5]
local pending_queue = KEYS[6]
local approved_queue = KEYS[7]
local reported_queue = KEYS[8]
local outbox_due = KEYS[9]
local outbox = KEYS[10]
local limit_keys = 11  -- KEYS[11..]
local reporter_hash = ARGV[1]
local reason = ARGV[2]
local threshold = ARGV[3]
local hide = ARGV[4]
local targets = ARGV[5]
local site = ARGV[6]
local comment_id = ARGV[7]
local delivery_id = ARGV[8]
local limit_args = 9  -- ARGV[9..]
local now = now_ms()
local check = gcra_check(limit_keys, limit_args, now)
if check.refused > 0 then
  return gcra_reply(check, now, false, 'rate_limited', check.refused, check.retry_ms)
end
local c = redis.call('HMGET', comment, 'status', 'visible', 'reviewed_reports', 'thread', 'public')
if c[2] ~= '1' then
  return gcra_reply(check, now, false, 'unknown', 0, 0)
end
gcra_charge(check, now)
redis.call('SADD', reporters, reporter_hash)
local count = redis.call('SCARD', reporters)
redis.call('HSET', comment, 'reports', count)
threshold = tonumber(threshold) + (tonumber(c[3]) or 0)
if count < threshold or c[1] == 'reported' then
  return gcra_reply(check, now, true, 'noted', count, 0)
end
local queues = {pending = pending_queue, approved = approved_queue}
if queues[c[1]] then redis.call('ZREM', queues[c[1]], comment_id) end
redis.call('ZADD', reported_queue, 0, comment_id)
local fields = {'status', 'reported', 'reported_from', c[1]}
if hide == '1' then
  redis.call('ZREM', thread_ids, comment_id)
  redis.call('HDEL', thread_public, comment_id)
  fields[#fields + 1] = 'visible'
  fields[#fields + 1] = '0'
end
redis.call('HSET', comment, unpack(fields))
history_add(history, now, '', '', 'flagged', count .. ' distinct reports')
outbox_add(outbox_due, outbox, now, delivery_id, targets, 'comment.reported', function()
  return event_body('comment.reported', site, delivery_id, now, c[5], c[4], 'reported', reason)
end)
return gcra_reply(check, now, true, 'flagged', count, 0)
