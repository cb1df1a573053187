-- Issuing a challenge that needs no pool (proof of work, a third party):
-- charge the client's issue limit, unless the client is escalated, in which
-- case nothing is charged here and the image issue script charges instead.
--
-- KEYS: 1 the client's captcha failures, 2.. rate-limit keys
-- ARGV: 1 failures that escalate (0: never), 2 '1' to charge an escalated
--       client here too (its stronger challenge needs no other script),
--       3 number of limits, 4.. pairs
-- Answers as captcha_issue.lua: outcome, a number, the retry ms or '', then
-- remaining/reset ms per limit.
local now = now_ms()
local escalate_at = tonumber(ARGV[1])
local check = gcra_check(2, tonumber(ARGV[3]), 4, now)
if check.refused > 0 then
  return gcra_reply(check, now, false, 'rate_limited', check.refused, check.retry_ms)
end
if escalate_at > 0 and (tonumber(redis.call('GET', KEYS[1])) or 0) >= escalate_at then
  if ARGV[2] ~= '1' then
    return gcra_reply(check, now, false, 'escalated', 0, '')
  end
  gcra_charge(check, now)
  return gcra_reply(check, now, true, 'escalated', 0, '')
end
gcra_charge(check, now)
return gcra_reply(check, now, true, 'issued', 0, '')
