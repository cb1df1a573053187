-- Reads limits without charging them, for answers that never reached the
-- charging script (a body that failed validation, say) but must still carry
-- the RateLimit header field.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local limit_keys = 1  -- KEYS[1..]
local limit_args = 1  -- ARGV[1..]
local now = now_ms()
return gcra_usage(gcra_check(limit_keys, limit_args, now), false, now)
