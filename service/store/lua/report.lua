-- A reader reports a published comment. Reports count once per reader
-- (pseudonymised address); at the site's threshold the comment moves to the
-- `reported` queue and, if the site says so, is hidden until reviewed.
--
-- KEYS: 1 comment, 2 reporters, 3 thread ids, 4 thread public, 5 history,
--       6-8 queues pending, approved, reported, 9 outbox due, 10 outbox,
--       11.. rate-limit keys
-- ARGV: 1 reporter address hash, 2 reason, 3 threshold, 4 '1' to hide,
--       5 targets of comment.reported, 6 site, 7 comment id, 8 delivery id,
--       9 number of limits, 10.. emission/burst pairs
-- Answers: outcome, a number (the refusing limit's index, or the count of
-- reports), retry ms or 0, then remaining/reset ms per limit.
local now = now_ms()
local check = gcra_check(11, tonumber(ARGV[9]), 10, now)
if check.refused > 0 then
  return gcra_reply(check, now, false, 'rate_limited', check.refused, check.retry_ms)
end
local c = redis.call('HMGET', KEYS[1], 'status', 'visible', 'reviewed_reports', 'thread', 'public')
if c[2] ~= '1' then
  return gcra_reply(check, now, false, 'unknown', 0, 0)
end
gcra_charge(check, now)
redis.call('SADD', KEYS[2], ARGV[1])
local count = redis.call('SCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'reports', count)
local threshold = tonumber(ARGV[3]) + (tonumber(c[3]) or 0)
if count < threshold or c[1] == 'reported' then
  return gcra_reply(check, now, true, 'noted', count, 0)
end
local queues = {pending = KEYS[6], approved = KEYS[7]}
if queues[c[1]] then redis.call('ZREM', queues[c[1]], ARGV[7]) end
redis.call('ZADD', KEYS[8], 0, ARGV[7])
local fields = {'status', 'reported', 'reported_from', c[1]}
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[7])
  redis.call('HDEL', KEYS[4], ARGV[7])
  fields[#fields + 1] = 'visible'
  fields[#fields + 1] = '0'
end
redis.call('HSET', KEYS[1], unpack(fields))
history_add(KEYS[5], now, '', '', 'flagged', count .. ' distinct reports')
outbox_add(KEYS[9], KEYS[10], now, ARGV[8], ARGV[5], 'comment.reported', function()
  return event_body('comment.reported', ARGV[6], ARGV[8], now, c[5], c[4], 'reported', ARGV[2])
end)
return gcra_reply(check, now, true, 'flagged', count, 0)
