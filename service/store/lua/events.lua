-- Library, prepended by scripts.py to the scripts that record what happened:
-- the audit stream, a comment's history, and webhook deliveries in the outbox.
-- Recording inside the same script as the change means an action is never
-- done without its record, nor recorded without being done.

-- The audit stream holds ids and moderators' words only: no reader's data.
local function audit_add(stream, now, key_id, moderator, action, comment_id, reason)
  return redis.call('XADD', stream, '*', 'at', now, 'key', key_id, 'moderator', moderator,
    'action', action, 'comment', comment_id, 'reason', reason)
end

local function history_add(key, now, key_id, moderator, action, reason)
  redis.call('RPUSH', key, cjson.encode({at = now, key = key_id, moderator = moderator,
    action = action, reason = reason}))
end

-- One delivery per subscribed target (a comma-separated list of names), so
-- that each target is retried on its own. `make_body` returns the JSON to
-- POST; it is only called when someone subscribed, which most sites have not.
local function outbox_add(due, outbox, now, delivery_base, targets, event, make_body)
  if targets == '' then return end
  local body = make_body()
  for target in string.gmatch(targets, '[^,]+') do
    local id = delivery_base .. ':' .. target
    redis.call('HSET', outbox, id, cjson.encode({target = target, event = event,
      attempts = 0, body = body}))
    redis.call('ZADD', due, now, id)
  end
end

-- The webhook body of a comment event: the comment's public projection, never
-- its email or address.
local function event_body(event, site, delivery_base, now, public, thread, status, reason)
  return '{"event":' .. cjson.encode(event) .. ',"site":' .. cjson.encode(site) ..
    ',"id":' .. cjson.encode(delivery_base) .. ',"at":' .. string.format('%d', now) ..
    ',"thread":' .. cjson.encode(thread) .. ',"status":' .. cjson.encode(status) ..
    ',"reason":' .. cjson.encode(reason) .. ',"comment":' .. public .. '}'
end
