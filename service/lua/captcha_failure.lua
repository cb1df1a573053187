-- Counts a failed captcha checked outside the accept script (a proof of
-- work or a third-party token refused before it): the count and its window
-- start together.
--
-- KEYS: 1 the client's captcha failures; ARGV: 1 window ms
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return failures
