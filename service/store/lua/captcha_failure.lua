-- Counts a failed captcha checked outside the accept script (a proof of
-- work or a third-party token refused before it).
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local captcha_failures = KEYS[1]
local window_ms = ARGV[1]
return failure_add(captcha_failures, tonumber(window_ms))
