-- Lifts a ban: the key the accept script checks (only while it still holds
-- this ban, so a newer ban of the same subject stays), the admin-visible
-- record, and an audit entry. Returns 0 when the ban is not on record.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local ban = KEYS[1]
local ban_records = KEYS[2]
local audit = KEYS[3]
local ban_id = ARGV[1]
local key_id = ARGV[2]
local moderator = ARGV[3]
local reason = ARGV[4]
local now = now_ms()
if redis.call('HDEL', ban_records, ban_id) == 0 then
  return 0
end
if redis.call('GET', ban) == ban_id then
  redis.call('DEL', ban)
end
audit_add(audit, now, key_id, moderator, 'unban', '', reason)
return 1
