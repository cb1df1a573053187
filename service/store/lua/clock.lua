-- Library, prepended by scripts.py to every script that needs the time.
-- Redis's own clock, so that every replica of the service agrees on "now".
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
