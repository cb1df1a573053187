-- The accept path in one atomic call (DESIGN.md invariant 2): idempotency,
-- parent, bans, rate limits, captcha, then store, queue and announce. A
-- refusal changes nothing but the captcha it consumed (one attempt per
-- challenge) and the client's count of failed captchas; a refusal before
-- the captcha check leaves the captcha usable.
--
-- KEYS: 1 comment, 2 pending queue, 3 idempotency, 4 captcha live hash,
--       5 captcha expiry zset, 6 parent comment, 7 thread ids, 8 thread public
--       hash, 9 trusted, 10 trusted always, 11 approved queue, 12 rejected
--       queue, 13 author index, 14 email ban, 15 address ban, 16 outbox due,
--       17 outbox, 18 spam queue, 19 proof-of-work replay mark, 20 the
--       client's captcha failures, 21.. rate-limit keys
-- ARGV: 1 id, 2 thread, 3 parent id or '', 4 name, 5 email, 6 body, 7 ip hash,
--       8 email hash, 9 captcha id, 10 captcha answer hmac, 11 mode,
--       12 idempotency fingerprint or '', 13 idempotency ttl s, 14 public json,
--       15 created_at ms, 16 ban response, 17 webhook targets, 18 site,
--       19 deadline ms (Redis time), 20 abuse score, 21 abuse reasons
--       (comma-separated), 22 verdict (pass, hold, spam, reject), 23 captcha
--       mode (image, pow, strong-pow, token, spent), 24 replay mark ttl ms,
--       25 failures that escalate (0: never), 26 escalation window ms,
--       27 '1' if a spam or reject verdict escalates, 28 number of limits,
--       29.. emission/burst pairs
local id = ARGV[1]
local fingerprint = ARGV[12]
local now = now_ms()

-- A call that reaches Redis after its client gave up (Redis was frozen, say)
-- must not store: the client has already answered 503 (invariant 1).
if now > tonumber(ARGV[19]) then
  return {'late'}
end

if fingerprint ~= '' then
  local first = redis.call('GET', KEYS[3])
  if first then
    local sep1 = string.find(first, ' ', 1, true)
    local sep2 = string.find(first, ' ', sep1 + 1, true)
    if string.sub(first, sep2 + 1) ~= fingerprint then
      return {'idempotency_mismatch'}
    end
    return {'replay', string.sub(first, 1, sep1 - 1), string.sub(first, sep1 + 1, sep2 - 1)}
  end
end

if ARGV[3] ~= '' then
  local parent = redis.call('HMGET', KEYS[6], 'thread', 'visible')
  if parent[1] ~= ARGV[2] or parent[2] ~= '1' then
    return {'unknown_parent'}
  end
end

local banned = redis.call('EXISTS', KEYS[14], KEYS[15]) > 0
if banned and ARGV[16] == 'honest' then
  return {'banned'}
end

local limits = gcra_check(21, tonumber(ARGV[28]), 29, now)
if limits.refused > 0 then
  return gcra_reply(limits, now, false, 'rate_limited', limits.refused, limits.retry_ms)
end

-- The captcha, by ARGV[23]: 'image' consumes the live challenge; 'pow' and
-- 'strong-pow' (a proof of work verified by the caller) mark the solution
-- spent for as long as its challenge lives; 'token' was vouched for over
-- HTTP by a third party; 'spent', a token its provider called used, passes
-- only as the replay of an idempotent retry (above). An escalated client
-- (KEYS[20] at ARGV[25] failures) must answer the stronger challenge.
local captcha_mode, escalate_at = ARGV[23], tonumber(ARGV[25])
local function captcha_failed(reason)
  if escalate_at > 0 and redis.call('INCR', KEYS[20]) == 1 then
    redis.call('PEXPIRE', KEYS[20], tonumber(ARGV[26]))
  end
  return {'captcha_failed', reason}
end
if captcha_mode == 'image' then
  local expected = redis.call('HGET', KEYS[4], ARGV[9])
  local expires = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[9]))
  if expected then
    redis.call('HDEL', KEYS[4], ARGV[9])
    redis.call('ZREM', KEYS[5], ARGV[9])
  end
  if not expected or not expires or expires <= now then
    return captcha_failed('expired')
  end
  if expected ~= ARGV[10] then
    return captcha_failed('wrong')
  end
elseif captcha_mode == 'spent' then
  return captcha_failed('spent')
else
  if (captcha_mode == 'pow' or captcha_mode == 'token') and escalate_at > 0
      and (tonumber(redis.call('GET', KEYS[20])) or 0) >= escalate_at then
    return {'captcha_failed', 'stronger'}
  end
  if captcha_mode ~= 'token'
      and not redis.call('SET', KEYS[19], '1', 'NX', 'PX', math.max(1, tonumber(ARGV[24]))) then
    return captcha_failed('spent')
  end
end

gcra_charge(limits, now)

-- Where the comment goes: a shadow-banned one, or one the abuse checks
-- reject or call spam, straight there (its author is told it awaits
-- moderation); one they hold, to a moderator whatever the mode; a trusted
-- author's published as approved; under post-moderation published but
-- still pending review.
local mode, email_hash, verdict = ARGV[11], ARGV[8], ARGV[22]
local status, visible, queue, reasons = 'pending', '0', KEYS[2], ARGV[21]
if banned then
  status, queue = 'rejected', KEYS[12]
  reasons = reasons == '' and 'banned' or ('banned,' .. reasons)
elseif verdict == 'reject' then
  status, queue = 'rejected', KEYS[12]
elseif verdict == 'spam' then
  status, queue = 'spam', KEYS[18]
elseif verdict == 'hold' then
  status = 'pending'
elseif redis.call('SISMEMBER', KEYS[10], email_hash) == 1
    or (mode == 'first-comment' and redis.call('SISMEMBER', KEYS[9], email_hash) == 1) then
  status, visible, queue = 'approved', '1', KEYS[11]
elseif mode == 'post' then
  visible = '1'
end

redis.call('HSET', KEYS[1],
  'id', id, 'thread', ARGV[2], 'parent_id', ARGV[3], 'name', ARGV[4],
  'email', ARGV[5], 'body', ARGV[6], 'ip_hash', ARGV[7], 'email_hash', email_hash,
  'created_at', ARGV[15], 'status', status, 'visible', visible, 'public', ARGV[14],
  'reasons', reasons, 'score', ARGV[20], 'reports', 0)
redis.call('ZADD', queue, 0, id)
redis.call('SADD', KEYS[13], id)
-- Escalation on abuse: whoever sent what the checks call spam or reject
-- answers the stronger challenge next time.
if ARGV[27] == '1' and escalate_at > 0 and (verdict == 'spam' or verdict == 'reject') then
  local failures = tonumber(redis.call('GET', KEYS[20])) or 0
  if failures < escalate_at then
    redis.call('SET', KEYS[20], escalate_at, 'PX', tonumber(ARGV[26]))
  end
end
if visible == '1' then
  redis.call('ZADD', KEYS[7], 0, id)
  redis.call('HSET', KEYS[8], id, ARGV[14])
end

local answer = 'pending'
if visible == '1' then answer = 'approved' end
if fingerprint ~= '' then
  redis.call('SET', KEYS[3], id .. ' ' .. answer .. ' ' .. fingerprint, 'EX', tonumber(ARGV[13]))
end
outbox_add(KEYS[16], KEYS[17], now, id, ARGV[17], 'comment.submitted', function()
  return event_body('comment.submitted', ARGV[18], id, now, ARGV[14], ARGV[2], status, '')
end)

return gcra_reply(limits, now, true, 'accepted', id, answer)
