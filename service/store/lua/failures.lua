-- Library: a client's failed captcha answers, counted in a window that
-- starts with the first of them; at the site's threshold the client is
-- escalated to the stronger challenge (captcha/gate.py).
local function failure_add(key, window_ms)
  local failures = redis.call('INCR', key)
  if failures == 1 then
    redis.call('PEXPIRE', key, window_ms)
  end
  return failures
end
