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
--       17 outbox, 18 spam queue, 19 form token mark, 20 and 21 fingerprints
--       of this window and the last, 22 strikes, 23 proof-of-work replay
--       mark, 24 the client's captcha failures, 25.. rate-limit keys
-- ARGV: 1 id, 2 thread, 3 parent id or '', 4 name, 5 email, 6 body, 7 ip hash,
--       8 email hash, 9 captcha id, 10 captcha answer hmac, 11 mode,
--       12 idempotency fingerprint or '', 13 idempotency ttl s, 14 public json,
--       15 created_at ms, 16 ban response, 17 webhook targets, 18 site,
--       19 deadline ms (Redis time), 20 abuse score of the text and form
--       token, 21 its reasons (comma-separated), 22 thresholds 'hold spam
--       reject', 23 form token mark ttl ms (0: no token to mark), 24 text
--       fingerprint (abuse.fingerprint) or '', 25 fingerprint window s, 26
--       links in the body, 27 weights 'duplicate near strike first-link'
--       and the near-duplicate agreement, 28 captcha mode (image, pow,
--       strong-pow, token, spent), 29 replay mark ttl ms, 30 failures that
--       escalate (0: never), 31 escalation window ms, 32 '1' if a spam or
--       reject verdict escalates, 33 number of limits, 34.. emission/burst
--       pairs
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

local limits = gcra_check(25, tonumber(ARGV[33]), 34, now)
if limits.refused > 0 then
  return gcra_reply(limits, now, false, 'rate_limited', limits.refused, limits.retry_ms)
end

local token_ttl = tonumber(ARGV[23])
if token_ttl > 0 and redis.call('EXISTS', KEYS[19]) == 1 then
  return {'form_reused'}
end

-- The captcha, by ARGV[28]: 'image' consumes the live challenge; 'pow' and
-- 'strong-pow' (a proof of work verified by the caller) mark the solution
-- spent for as long as its challenge lives; 'token' was vouched for over
-- HTTP by a third party; 'spent', a token its provider called used, passes
-- only as the replay of an idempotent retry (above). An escalated client
-- (KEYS[24] at ARGV[30] failures) must answer the stronger challenge.
local captcha_mode, escalate_at = ARGV[28], tonumber(ARGV[30])
local function captcha_failed(reason)
  if escalate_at > 0 then failure_add(KEYS[24], tonumber(ARGV[31])) end
  return {'captcha_failed', reason}
end
if captcha_mode == 'image' then
  local expected = redis.call('HGET', KEYS[4], ARGV[9])
  local expires = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[9]))
  if expected then
    redis.call('HDEL', KEYS[4], ARGV[9], ARGV[9] .. '/audio', ARGV[9] .. '/plays')
    redis.call('ZREM', KEYS[5], ARGV[9])
  end
  if not expected or not expires or expires <= now then
    return captcha_failed('expired')
  end
  -- `image hmac` or `image hmac:spoken hmac`: the text seen or the one heard.
  local seen, heard = string.match(expected, '^([^:]*):?(.*)$')
  if ARGV[10] ~= seen and (heard == '' or ARGV[10] ~= heard) then
    return captcha_failed('wrong')
  end
elseif captcha_mode == 'spent' then
  return captcha_failed('spent')
else
  if (captcha_mode == 'pow' or captcha_mode == 'token') and escalate_at > 0
      and (tonumber(redis.call('GET', KEYS[24])) or 0) >= escalate_at then
    return {'captcha_failed', 'stronger'}
  end
  if captcha_mode ~= 'token'
      and not redis.call('SET', KEYS[23], '1', 'NX', 'PX', math.max(1, tonumber(ARGV[29]))) then
    return captcha_failed('spent')
  end
end

gcra_charge(limits, now)
if token_ttl > 0 then
  redis.call('SET', KEYS[19], '1', 'PX', token_ttl)
end

-- The signals only the site's memory can tell, added to the text's score.
local score, reasons = tonumber(ARGV[20]), ARGV[21]
local function flag(reason, weight)
  score = score + weight
  reasons = reasons == '' and reason or (reasons .. ',' .. reason)
end
local w = {}
for n in string.gmatch(ARGV[27], '%S+') do w[#w + 1] = tonumber(n) end
local email_hash = ARGV[8]
local text_print = ARGV[24]
local bands, current_records = {}, {}
if text_print ~= '' then
  local exact, values = string.sub(text_print, 33, 36), {}
  for v = 1, 16 do values[v] = string.sub(text_print, 2 * v - 1, 2 * v) end
  for b = 0, 7 do bands[b + 1] = b .. values[2 * b + 1] .. values[2 * b + 2] end
  local need = w[5]
  local found, compared = nil, {}
  for k = 20, 21 do
    local in_window = redis.call('HMGET', KEYS[k], unpack(bands))
    if k == 20 then current_records = in_window end
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
local strikes = tonumber(redis.call('HGET', KEYS[22], email_hash) or '0')
if strikes > 0 then
  flag('history:rejected:' .. strikes, w[3] * math.min(strikes, 3))
end
if tonumber(ARGV[26]) > 0 and redis.call('EXISTS', KEYS[13]) == 0 then
  flag('first-time-link', w[4])
end
local hold, spam, reject = string.match(ARGV[22], '(%S+) (%S+) (%S+)')
local verdict = 'pass'
if score >= tonumber(reject) then verdict = 'reject'
elseif score >= tonumber(spam) then verdict = 'spam'
elseif score >= tonumber(hold) then verdict = 'hold' end

-- Escalation on abuse: whoever sent what the checks call spam or reject
-- answers the stronger challenge next time.
if ARGV[32] == '1' and escalate_at > 0 and (verdict == 'spam' or verdict == 'reject') then
  if (tonumber(redis.call('GET', KEYS[24])) or 0) < escalate_at then
    redis.call('SET', KEYS[24], escalate_at, 'PX', tonumber(ARGV[31]))
  end
end

-- Where the comment goes: a shadow-banned one, or one the abuse checks
-- reject or call spam, straight there (its author is told it awaits
-- moderation); one they hold, to a moderator whatever the mode; a trusted
-- author's published as approved; under post-moderation published but
-- still pending review.
local mode = ARGV[11]
local status, visible, queue = 'pending', '0', KEYS[2]
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
  'reasons', reasons, 'score', score, 'reports', 0)
redis.call('ZADD', queue, 0, id)
redis.call('SADD', KEYS[13], id)
if not banned and (status == 'rejected' or status == 'spam') then
  redis.call('HINCRBY', KEYS[22], email_hash, 1)
end
if text_print ~= '' then
  -- Each band keeps its three latest records; the window's key expires whole.
  local fields = {}
  for b, band in ipairs(bands) do
    fields[2 * b - 1] = band
    fields[2 * b] = text_print .. string.sub(current_records[b] or '', 1, 72)
  end
  redis.call('HSET', KEYS[20], unpack(fields))
  redis.call('EXPIRE', KEYS[20], 2 * tonumber(ARGV[25]))
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
