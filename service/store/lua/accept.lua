-- The accept path in one atomic call (the contract's invariant 2, docs/contract.md): idempotency,
-- parent, bans, rate limits, captcha, then store, queue and announce. A
-- refusal changes nothing but the captcha it consumed (one attempt per
-- challenge) and the client's count of failed captchas; a refusal before
-- the captcha check leaves the captcha usable.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
-- The site's own keys first, then the call's (store/packing.py sends the site's
-- part as bytes encoded once per site).
local pending_queue = KEYS[1]
local captcha_live = KEYS[2]
local captcha_expiry = KEYS[3]
local trusted = KEYS[4]
local trusted_always = KEYS[5]
local approved_queue = KEYS[6]
local rejected_queue = KEYS[7]
local outbox_due = KEYS[8]
local outbox = KEYS[9]
local spam_queue = KEYS[10]
local strikes = KEYS[11]
local comment = KEYS[12]
local idempotency = KEYS[13]  -- the first answer to an Idempotency-Key
local parent = KEYS[14]  -- the parent comment ('-' for none)
local thread_ids = KEYS[15]
local thread_public = KEYS[16]
local author_comments = KEYS[17]
local email_ban = KEYS[18]
local address_ban = KEYS[19]
local form_token_mark = KEYS[20]  -- marks a form token used
local fingerprints = KEYS[21]  -- text fingerprints of this window
local fingerprints_before = KEYS[22]  -- and of the last one
local spent_mark = KEYS[23]  -- marks a proof of work spent
local captcha_failures = KEYS[24]
local limit_keys = 25  -- KEYS[25..]: the rate-limit keys
-- The site's configuration first, then the submission.
local idempotency_ttl_s = ARGV[1]
local ban_response = ARGV[2]
local webhook_targets = ARGV[3]
local site = ARGV[4]
local thresholds = ARGV[5]  -- 'hold spam reject'
local fingerprint_window_s = ARGV[6]
local weights = ARGV[7]  -- 'duplicate near strike first-link agreement'
local escalate_after = ARGV[8]  -- failures that escalate (0: never)
local escalate_window_ms = ARGV[9]
local escalate_on_abuse = ARGV[10]  -- '1' if spam or reject escalates
local id = ARGV[11]
local thread = ARGV[12]
local parent_id = ARGV[13]  -- or ''
local name = ARGV[14]
local email = ARGV[15]
local body = ARGV[16]
local ip_hash = ARGV[17]
local email_hash = ARGV[18]
local captcha_id = ARGV[19]
local captcha_answer = ARGV[20]  -- its HMAC
local mode = ARGV[21]  -- moderation: pre, post, first-comment, trusted (signed in)
local content_digest = ARGV[22]  -- '' when no Idempotency-Key
local public_json = ARGV[23]
local created_ms = ARGV[24]
local deadline_ms = ARGV[25]  -- in Redis time
local score = ARGV[26]  -- of the text and the form token
local reasons = ARGV[27]  -- comma-separated
local form_token_ttl_ms = ARGV[28]  -- 0: no token to mark
local text_fingerprint = ARGV[29]  -- screen.fingerprint, or ''
local links = ARGV[30]
local captcha_mode = ARGV[31]  -- image, pow, strong-pow, token, spent, signed-in
local spent_ttl_ms = ARGV[32]
local model_probability = ARGV[33]  -- the learned model's, or '' when it is off
local user_id = ARGV[34]  -- a signed-in reader's, or ''
local notify = ARGV[35]  -- '1': the author asked to be emailed replies
local limit_args = 36  -- ARGV[36..]: count, then emission/burst pairs
local now = now_ms()

-- A call that reaches Redis after its client gave up (Redis was frozen, say)
-- must not store: the client has already answered 503 (invariant 1).
if now > tonumber(deadline_ms) then
  return {'late'}
end

if content_digest ~= '' then
  local first = redis.call('GET', idempotency)
  if first then
    local sep1 = string.find(first, ' ', 1, true)
    local sep2 = string.find(first, ' ', sep1 + 1, true)
    if string.sub(first, sep2 + 1) ~= content_digest then
      return {'idempotency_mismatch'}
    end
    -- A write, so that a WAIT after this call (redis.wait_replicas) covers
    -- the first call's writes too: WAIT counts the replicas that have this
    -- connection's last write, and a read would leave that an older one.
    redis.call('EXPIRE', idempotency, idempotency_ttl_s)
    return {'replay', string.sub(first, 1, sep1 - 1), string.sub(first, sep1 + 1, sep2 - 1)}
  end
end

if parent_id ~= '' then
  local found = redis.call('HMGET', parent, 'thread', 'visible')
  if found[1] ~= thread or found[2] ~= '1' then
    return {'unknown_parent'}
  end
end

local banned = redis.call('EXISTS', email_ban, address_ban) > 0
if banned and ban_response == 'honest' then
  return {'banned'}
end

local limits = gcra_check(limit_keys, limit_args, now)
if limits.refused > 0 then
  return gcra_reply(limits, now, false, 'rate_limited', limits.refused, limits.retry_ms)
end

local token_ttl = tonumber(form_token_ttl_ms)
if token_ttl > 0 and redis.call('EXISTS', form_token_mark) == 1 then
  return {'form_reused'}
end

-- The captcha, by captcha_mode: 'image' consumes the live challenge; 'pow' and
-- 'strong-pow' (a proof of work verified by the caller) mark the solution
-- spent for as long as its challenge lives; 'token' was vouched for over
-- HTTP by a third party; 'signed-in', a reader the site's login vouched
-- for, answers none; 'spent', a token its provider called used, passes
-- only as the replay of an idempotent retry (above). An escalated client
-- (captcha_failures at escalate_after failures) must answer the stronger challenge.
local escalate_at = tonumber(escalate_after)
local function captcha_failed(reason)
  if escalate_at > 0 then failure_add(captcha_failures, tonumber(escalate_window_ms)) end
  return {'captcha_failed', reason}
end
if captcha_mode == 'image' then
  local expected = redis.call('HGET', captcha_live, captcha_id)
  local expires = tonumber(redis.call('ZSCORE', captcha_expiry, captcha_id))
  if expected then
    redis.call('HDEL', captcha_live, captcha_id, captcha_id .. '/audio', captcha_id .. '/plays')
    redis.call('ZREM', captcha_expiry, captcha_id)
  end
  if not expected or not expires or expires <= now then
    return captcha_failed('expired')
  end
  -- `image hmac` or `image hmac:spoken hmac`: the text seen or the one heard.
  local seen, heard = string.match(expected, '^([^:]*):?(.*)$')
  if captcha_answer ~= seen and (heard == '' or captcha_answer ~= heard) then
    return captcha_failed('wrong')
  end
elseif captcha_mode == 'spent' then
  return captcha_failed('spent')
else
  if (captcha_mode == 'pow' or captcha_mode == 'token') and escalate_at > 0
      and (tonumber(redis.call('GET', captcha_failures)) or 0) >= escalate_at then
    return {'captcha_failed', 'stronger'}
  end
  if captcha_mode ~= 'token' and captcha_mode ~= 'signed-in'
      and not redis.call('SET', spent_mark, '1', 'NX', 'PX', math.max(1, tonumber(spent_ttl_ms))) then
    return captcha_failed('spent')
  end
end

gcra_charge(limits, now)
if token_ttl > 0 then
  redis.call('SET', form_token_mark, '1', 'PX', token_ttl)
end

-- The signals only the site's memory can tell, added to the text's score.
score = tonumber(score)
local function flag(reason, weight)
  score = score + weight
  reasons = reasons == '' and reason or (reasons .. ',' .. reason)
end
local w = {}
for n in string.gmatch(weights, '%S+') do w[#w + 1] = tonumber(n) end
local bands, current_records = {}, {}
if text_fingerprint ~= '' then
  local exact = string.sub(text_fingerprint, 33, 36)
  local values
  bands, values = fingerprint_bands(text_fingerprint)
  local need = w[5]
  local found, compared = nil, {}
  for _, window in ipairs({fingerprints, fingerprints_before}) do
    local in_window = redis.call('HMGET', window, unpack(bands))
    if window == fingerprints then current_records = in_window end
    for _, records in ipairs(in_window) do
      -- A record sharing several bands comes up in each: compare it once.
      for r = 1, records and #records or 0, 36 do
        local record = string.sub(records, r, r + 35)
        if not compared[record] then
          compared[record] = true
          if string.sub(record, 33, 36) == exact then
            found = 'duplicate'
          elseif not found then
            local agree, missed = 0, 0
            for v = 1, 16 do
              if string.sub(record, 2 * v - 1, 2 * v) == values[v] then
                agree = agree + 1
              else
                missed = missed + 1
              end
              if agree >= need or missed > 16 - need then break end
            end
            if agree >= need then found = 'near-duplicate' end
          end
        end
      end
    end
  end
  if found == 'duplicate' then flag('duplicate', w[1])
  elseif found then flag('near-duplicate', w[2]) end
end
local strikes = tonumber(redis.call('HGET', strikes, email_hash) or '0')
if strikes > 0 then
  flag('history:rejected:' .. strikes, w[3] * math.min(strikes, 3))
end
if tonumber(links) > 0 and redis.call('EXISTS', author_comments) == 0 then
  flag('first-time-link', w[4])
end
local hold, spam, reject = string.match(thresholds, '(%S+) (%S+) (%S+)')
local verdict = 'pass'
if score >= tonumber(reject) then verdict = 'reject'
elseif score >= tonumber(spam) then verdict = 'spam'
elseif score >= tonumber(hold) then verdict = 'hold' end

-- Escalation on abuse: whoever sent what the checks call spam or reject
-- answers the stronger challenge next time.
if escalate_on_abuse == '1' and escalate_at > 0 and (verdict == 'spam' or verdict == 'reject') then
  if (tonumber(redis.call('GET', captcha_failures)) or 0) < escalate_at then
    redis.call('SET', captcha_failures, escalate_at, 'PX', tonumber(escalate_window_ms))
  end
end

-- Where the comment goes: a shadow-banned one, or one the abuse checks
-- reject or call spam, straight there (its author is told it awaits
-- moderation); one they hold, to a moderator whatever the mode; a trusted
-- author's published as approved; under post-moderation published but
-- still pending review.
local status, visible, queue = 'pending', '0', pending_queue
if banned then
  status, queue = 'rejected', rejected_queue
  reasons = reasons == '' and 'banned' or ('banned,' .. reasons)
elseif verdict == 'reject' then
  status, queue = 'rejected', rejected_queue
elseif verdict == 'spam' then
  status, queue = 'spam', spam_queue
elseif verdict == 'hold' then
  status = 'pending'
elseif mode == 'trusted' or redis.call('SISMEMBER', trusted_always, email_hash) == 1
    or (mode == 'first-comment' and redis.call('SISMEMBER', trusted, email_hash) == 1) then
  status, visible, queue = 'approved', '1', approved_queue
elseif mode == 'post' then
  visible = '1'
end

redis.call('HSET', comment,
  'id', id, 'thread', thread, 'parent_id', parent_id, 'name', name,
  'email', email, 'body', body, 'ip_hash', ip_hash, 'email_hash', email_hash,
  'created_at', created_ms, 'status', status, 'visible', visible, 'public', public_json,
  'reasons', reasons, 'score', score, 'reports', 0)
if model_probability ~= '' then
  redis.call('HSET', comment, 'model', model_probability)
end
if user_id ~= '' then
  redis.call('HSET', comment, 'user', user_id)
end
if notify == '1' then
  redis.call('HSET', comment, 'notify', '1')
end
redis.call('ZADD', queue, 0, id)
redis.call('SADD', author_comments, id)
if not banned and (status == 'rejected' or status == 'spam') then
  redis.call('HINCRBY', strikes, email_hash, 1)
end
if text_fingerprint ~= '' then
  fingerprint_remember(fingerprints, text_fingerprint, bands, current_records, fingerprint_window_s)
end
if visible == '1' then
  redis.call('ZADD', thread_ids, 0, id)
  redis.call('HSET', thread_public, id, public_json)
end

local answer = 'pending'
if visible == '1' then answer = 'approved' end
if content_digest ~= '' then
  redis.call('SET', idempotency, id .. ' ' .. answer .. ' ' .. content_digest, 'EX', tonumber(idempotency_ttl_s))
end
outbox_add(outbox_due, outbox, now, id, webhook_targets, 'comment.submitted', function()
  return event_body('comment.submitted', site, id, now, public_json, thread, status, '')
end)

return gcra_reply(limits, now, true, 'accepted', id, answer)
