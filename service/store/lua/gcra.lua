-- Library, prepended by scripts.py to the scripts that charge rate limits.
-- GCRA (generic cell rate algorithm): one key per limit holding the
-- theoretical arrival time (TAT) in milliseconds.

-- Checks one limit without charging it. Returns allowed, the TAT to store if
-- charged, the remaining units after charging, and milliseconds until the
-- quota is whole again (allowed) or until one unit frees (refused).
local function gcra_peek(key, emission, burst, now)
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + emission
  local allow_at = new_tat - emission * burst
  if now < allow_at then
    return false, tat, 0, allow_at - now
  end
  return true, new_tat, math.floor((now - allow_at) / emission), new_tat - now
end

-- Checks the limits whose keys start at KEYS[first] and whose count and
-- (emission, burst) pairs start at ARGV[argi] (store/ratelimit.py's
-- RateLimits lays them out), charging nothing. The result says which limit
-- refused first (0: none) and how long until every refusing limit frees a
-- unit; gcra_charge then charges them all and gcra_usage reports them.
local function gcra_check(first, argi, now)
  local n = tonumber(ARGV[argi])
  local check = {first = first, states = {}, refused = 0, retry_ms = 0}
  for i = 1, n do
    local emission = tonumber(ARGV[argi + 2 * i - 1])
    local burst = tonumber(ARGV[argi + 2 * i])
    local allowed, tat, remaining, reset_ms = gcra_peek(KEYS[first + i - 1], emission, burst, now)
    check.states[i] = {tat, remaining, reset_ms, allowed, emission, burst}
    if not allowed then
      if check.refused == 0 then check.refused = i end
      check.retry_ms = math.max(check.retry_ms, reset_ms)
    end
  end
  return check
end

local function gcra_charge(check, now)
  for i, state in ipairs(check.states) do
    redis.call('SET', KEYS[check.first + i - 1], state[1], 'PX', math.max(1, state[1] - now))
  end
end

-- A flat list of remaining units and reset ms per limit: after the charge
-- if one was made, else as things stand.
local function gcra_usage(check, charged, now)
  local out = {}
  for _, state in ipairs(check.states) do
    local tat, remaining, reset_ms, allowed, emission, burst = unpack(state)
    if allowed and not charged then
      remaining = math.min(burst, remaining + 1)
      reset_ms = math.max(0, tat - emission - now)
    end
    out[#out + 1] = remaining
    out[#out + 1] = reset_ms
  end
  return out
end

-- A script's answer: the given values, then the usage of every limit.
local function gcra_reply(check, now, charged, ...)
  local out = {...}
  for _, v in ipairs(gcra_usage(check, charged, now)) do out[#out + 1] = v end
  return out
end
