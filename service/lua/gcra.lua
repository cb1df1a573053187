-- Shared by every script that charges rate limits; scripts.py prepends it.
-- GCRA (generic cell rate algorithm): one key per limit holding the
-- theoretical arrival time (TAT) in milliseconds. Redis's own clock is used so
-- that every replica of the service agrees on "now".

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

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

-- Checks limits KEYS[first..first+n-1] with ARGV pairs (emission, burst)
-- starting at ARGV[argi]. Charges all of them only if all allow. Returns
-- ok, the index of the first refusing limit (or 0), and a flat list of
-- remaining, reset_ms per limit.
local function gcra_charge_all(first, n, argi, now, charge)
  local states = {}
  local refused = 0
  local retry_ms = 0
  for i = 0, n - 1 do
    local key = KEYS[first + i]
    local emission = tonumber(ARGV[argi + 2 * i])
    local burst = tonumber(ARGV[argi + 2 * i + 1])
    local allowed, tat, remaining, reset_ms = gcra_peek(key, emission, burst, now)
    states[i + 1] = {key, tat, remaining, reset_ms}
    if not allowed and (refused == 0 or reset_ms > retry_ms) then
      if refused == 0 then refused = i + 1 end
      retry_ms = math.max(retry_ms, reset_ms)
    end
  end
  local out = {}
  for i = 1, n do
    local s = states[i]
    if refused == 0 and charge then
      redis.call('SET', s[1], s[2], 'PX', math.max(1, s[2] - now))
    end
    out[#out + 1] = s[3]
    out[#out + 1] = s[4]
  end
  return refused == 0, refused, retry_ms, out
end
