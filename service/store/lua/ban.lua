-- Records a ban: the key the accept script checks (with a TTL for a timed
-- ban), the admin-visible record, and the audit entry.
--
-- KEYS: 1 ban key, 2 ban records, 3 audit, 4 history of the comment it came from
-- ARGV: 1 ban id, 2 record JSON, 3 ttl ms or 0 for ever, 4 key id,
--       5 moderator, 6 reason, 7 comment id or ''
local now = now_ms()
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
audit_add(KEYS[3], now, ARGV[4], ARGV[5], 'ban', ARGV[7], ARGV[6])
if ARGV[7] ~= '' then
  history_add(KEYS[4], now, ARGV[4], ARGV[5], 'ban', ARGV[6])
end
return now
