-- What an admin does to a site's learned model, with its audit entry:
-- 'reset' drops the learned weights and labels (back to the base model) and
-- marks the decisions made so far read, so they are not learned again;
-- 'freeze' and 'thaw' stop and restart learning; 'exclude' and 'include'
-- take a key's decisions out of training or back in. A reset is a new
-- version, so every worker drops the old weights.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local model = KEYS[1]
local labels = KEYS[2]
local training = KEYS[3]
local excluded = KEYS[4]
local audit = KEYS[5]
local action = ARGV[1]
local subject = ARGV[2]  -- the key id to exclude or include, else ''
local key_id = ARGV[3]
local moderator = ARGV[4]
local reason = ARGV[5]
local now = now_ms()
if action == 'reset' then
  local newest = redis.call('XREVRANGE', training, '+', '-', 'COUNT', 1)
  redis.call('HDEL', model, 'weights', 'learned')
  if newest[1] then
    redis.call('HSET', model, 'last_id', newest[1][1])
  end
  redis.call('HSET', model, 'updated_at', now)
  redis.call('DEL', labels)
  redis.call('HINCRBY', model, 'version', 1)
elseif action == 'freeze' then
  redis.call('HSET', model, 'frozen', '1')
elseif action == 'thaw' then
  redis.call('HDEL', model, 'frozen')
elseif action == 'exclude' then
  redis.call('SADD', excluded, subject)
elseif action == 'include' then
  redis.call('SREM', excluded, subject)
else
  return redis.error_reply('unknown model action ' .. action)
end
audit_add(audit, now, key_id, moderator, 'model-' .. action, '', subject ~= '' and
  (reason ~= '' and (subject .. ': ' .. reason) or subject) or reason)
return tonumber(redis.call('HGET', model, 'version') or '0')
