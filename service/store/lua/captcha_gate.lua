-- Issuing a challenge that needs no pool (proof of work, a third party):
-- charge the client's issue limit, unless the client is escalated, in which
-- case nothing is charged here and the image issue script charges instead.
-- Answers as captcha_issue.lua: outcome, a number, the retry ms or '', then
-- remaining/reset ms per limit.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local captcha_failures = KEYS[1]
local limit_keys = 2  -- KEYS[2..]
local escalate_after = ARGV[1]
local charge_escalated = ARGV[2]
local limit_args = 3  -- ARGV[3..]
local now = now_ms()
local escalate_at = tonumber(escalate_after)
local check = gcra_check(limit_keys, limit_args, now)
if check.refused > 0 then
  return gcra_reply(check, now, false, 'rate_limited', check.refused, check.retry_ms)
end
if escalate_at > 0 and (tonumber(redis.call('GET', captcha_failures)) or 0) >= escalate_at then
  if charge_escalated ~= '1' then
    return gcra_reply(check, now, false, 'escalated', 0, '')
  end
  gcra_charge(check, now)
  return gcra_reply(check, now, true, 'escalated', 0, '')
end
gcra_charge(check, now)
return gcra_reply(check, now, true, 'issued', 0, '')
