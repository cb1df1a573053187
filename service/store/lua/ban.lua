-- Records a ban: the key the accept script checks (with a TTL for a timed
-- ban), the admin-visible record, and the audit entry.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local ban = KEYS[1]
local ban_records = KEYS[2]
local audit = KEYS[3]
local history = KEYS[4]
local ban_id = ARGV[1]
local record = ARGV[2]
local ttl_ms = ARGV[3]
local key_id = ARGV[4]
local moderator = ARGV[5]
local reason = ARGV[6]
local comment_id = ARGV[7]
local now = now_ms()
local ttl = tonumber(ttl_ms)
if ttl > 0 then
  redis.call('SET', ban, ban_id, 'PX', ttl)
else
  redis.call('SET', ban, ban_id)
end
redis.call('HSET', ban_records, ban_id, record)
audit_add(audit, now, key_id, moderator, 'ban', comment_id, reason)
if comment_id ~= '' then
  history_add(history, now, key_id, moderator, 'ban', reason)
end
return now
