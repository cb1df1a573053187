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

-- Checks limits KEYS[first..first+n-1] with ARGV pairs (emission, burst)
-- starting at ARGV[argi], and charges all of them if all allow and `charge`
-- is set. Returns ok, the index of the first refusing limit (or 0), the wait
-- until every refusing limit frees a unit, and a flat list of remaining and
-- reset ms per limit: after the charge if one was made, else as things stand.
local function gcra_charge_all(first, n, argi, now, charge)
  local states = {}
  local refused = 0
  local retry_ms = 0
  for i = 1, n do
    local emission = tonumber(ARGV[argi + 2 * (i - 1)])
    local burst = tonumber(ARGV[argi + 2 * (i - 1) + 1])
    local allowed, tat, remaining, reset_ms = gcra_peek(KEYS[first + i - 1], emission, burst, now)
    states[i] = {tat, remaining, reset_ms, allowed, emission, burst}
    if not allowed then
      if refused == 0 then refused = i end
      retry_ms = math.max(retry_ms, reset_ms)
    end
  end
  local charged = refused == 0 and charge
  local out = {}
  for i = 1, n do
    local tat, remaining, reset_ms, allowed, emission, burst = unpack(states[i])
    if charged then
      redis.call('SET', KEYS[first + i - 1], tat, 'PX', math.max(1, tat - now))
    elseif allowed then
      remaining = math.min(burst, remaining + 1)
      reset_ms = math.max(0, tat - emission - now)
    end
    out[#out + 1] = remaining
    out[#out + 1] = reset_ms
  end
  return refused == 0, refused, retry_ms, out
end
