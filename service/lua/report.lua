-- A reader reports a published comment. Reports count once per reader
-- (pseudonymised address); at the site's threshold the comment moves to the
-- `reported` queue and, if the site says so, is hidden until reviewed.
--
-- KEYS: 1 comment, 2 reporters, 3 thread ids, 4 thread public, 5 history,
--       6-8 queues pending, approved, reported, 9 outbox due, 10 outbox,
--       11 rate-limit key
-- ARGV: 1 reporter address hash, 2 reason, 3 threshold, 4 '1' to hide,
--       5 emission ms, 6 burst, 7 targets of comment.reported, 8 site,
--       9 comment id, 10 delivery id
local now = now_ms()
local check = gcra_check(11, 1, 5, now)
if check.refused > 0 then
  local usage = gcra_usage(check, false, now)
  return {'rate_limited', check.retry_ms, usage[1], usage[2]}
end
gcra_charge(check, now)
local limits = gcra_usage(check, true, now)
local c = redis.call('HMGET', KEYS[1], 'status', 'visible', 'reviewed_reports', 'thread', 'public')
if c[2] ~= '1' then
  return {'unknown', 0, limits[1], limits[2]}
end
redis.call('SADD', KEYS[2], ARGV[1])
local count = redis.call('SCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'reports', count)
local threshold = tonumber(ARGV[3]) + (tonumber(c[3]) or 0)
if count < threshold or c[1] == 'reported' then
  return {'noted', count, limits[1], limits[2]}
end
local queues = {pending = KEYS[6], approved = KEYS[7]}
if queues[c[1]] then redis.call('ZREM', queues[c[1]], ARGV[9]) end
redis.call('ZADD', KEYS[8], 0, ARGV[9])
local fields = {'status', 'reported', 'reported_from', c[1]}
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[9])
  redis.call('HDEL', KEYS[4], ARGV[9])
  fields[#fields + 1] = 'visible'
  fields[#fields + 1] = '0'
end
redis.call('HSET', KEYS[1], unpack(fields))
history_add(KEYS[5], now, '', '', 'flagged', count .. ' distinct reports')
outbox_add(KEYS[9], KEYS[10], now, ARGV[10], ARGV[7], 'comment.reported', function()
  return event_body('comment.reported', ARGV[8], ARGV[10], now, c[5], c[4], 'reported', ARGV[2])
end)
return {'flagged', count, limits[1], limits[2]}
