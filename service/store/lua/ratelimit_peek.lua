-- Reads limits without charging them, for answers that never reached the
-- charging script (a body that failed validation, say) but must still carry
-- the RateLimit header field.
--
-- KEYS: the rate-limit keys; ARGV: 1 number of limits, then emission/burst pairs
local now = now_ms()
return gcra_usage(gcra_check(1, tonumber(ARGV[1]), 2, now), false, now)
