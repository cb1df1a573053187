-- Counts a failed captcha checked outside the accept script (a proof of
-- work or a third-party token refused before it).
--
-- KEYS: 1 the client's captcha failures; ARGV: 1 window ms
return failure_add(KEYS[1], tonumber(ARGV[1]))
