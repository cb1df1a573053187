-- The accept path in one atomic call (DESIGN.md invariant 2): idempotency,
-- parent, rate limits, captcha, then store and queue. A refusal changes
-- nothing but the captcha it consumed (one attempt per challenge).
--
-- KEYS: 1 comment, 2 pending queue, 3 idempotency, 4 captcha live hash,
--       5 captcha expiry zset, 6 parent comment, 7 thread ids, 8 thread public
--       hash, 9 trusted authors, 10 review queue, 11.. rate-limit keys
-- ARGV: 1 id, 2 thread, 3 parent id or '', 4 name, 5 email, 6 body, 7 ip hash,
--       8 email hash, 9 captcha id, 10 captcha answer hmac, 11 mode,
--       12 idempotency fingerprint or '', 13 idempotency ttl s, 14 public json,
--       15 created_at ms, 16 number of limits, 17.. emission/burst pairs
local id = ARGV[1]
local n_limits = tonumber(ARGV[16])
local idem_ttl = tonumber(ARGV[13])
local fingerprint = ARGV[12]
local now = now_ms()

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
  local parent = redis.call('HMGET', KEYS[6], 'thread', 'status')
  if parent[1] ~= ARGV[2] or parent[2] ~= 'approved' then
    return {'unknown_parent'}
  end
end

local allowed, refused, retry_ms, limits = gcra_charge_all(11, n_limits, 17, now, false)
if not allowed then
  local out = {'rate_limited', refused, retry_ms}
  for _, v in ipairs(limits) do out[#out + 1] = v end
  return out
end

local expected = redis.call('HGET', KEYS[4], ARGV[9])
local expires = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[9]))
if expected then
  redis.call('HDEL', KEYS[4], ARGV[9])
  redis.call('ZREM', KEYS[5], ARGV[9])
end
if not expected or not expires or expires <= now then
  return {'captcha_failed', 'expired'}
end
if expected ~= ARGV[10] then
  return {'captcha_failed', 'wrong'}
end

allowed, refused, retry_ms, limits = gcra_charge_all(11, n_limits, 17, now, true)

local status = 'pending'
local mode = ARGV[11]
if mode == 'post' then
  status = 'approved'
elseif mode == 'first-comment' and redis.call('SISMEMBER', KEYS[9], ARGV[8]) == 1 then
  status = 'approved'
end

redis.call('HSET', KEYS[1],
  'id', id, 'thread', ARGV[2], 'parent_id', ARGV[3], 'name', ARGV[4],
  'email', ARGV[5], 'body', ARGV[6], 'ip_hash', ARGV[7], 'email_hash', ARGV[8],
  'created_at', ARGV[15], 'status', status, 'mode', mode, 'public', ARGV[14])
if status == 'approved' then
  redis.call('ZADD', KEYS[7], 0, id)
  redis.call('HSET', KEYS[8], id, ARGV[14])
  redis.call('ZADD', KEYS[10], tonumber(ARGV[15]), id)
else
  redis.call('ZADD', KEYS[2], tonumber(ARGV[15]), id)
end
if fingerprint ~= '' then
  redis.call('SET', KEYS[3], id .. ' ' .. status .. ' ' .. fingerprint, 'EX', idem_ttl)
end

local out = {'accepted', id, status}
for _, v in ipairs(limits) do out[#out + 1] = v end
return out
