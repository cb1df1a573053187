-- Plays the spoken challenge of a live captcha: the clip rendered with it,
-- never a new one. A listener may replay it (a screen-reader user often must),
-- up to a number of plays per challenge, so the clips a client can pull are
-- bounded by the challenges it may be issued.
-- Answers: {'audio', wav} or {'unknown'|'no_audio'|'played_out'}
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local captcha_live = KEYS[1]
local captcha_expiry = KEYS[2]
local challenge_id = ARGV[1]
local plays_allowed = ARGV[2]
local id = challenge_id
local expires = tonumber(redis.call('ZSCORE', captcha_expiry, id))
if not expires or expires <= now_ms() or redis.call('HEXISTS', captcha_live, id) == 0 then
  return {'unknown'}
end
local audio = redis.call('HGET', captcha_live, id .. '/audio')
if not audio then
  return {'no_audio'}
end
if redis.call('HINCRBY', captcha_live, id .. '/plays', 1) > tonumber(plays_allowed) then
  return {'played_out'}
end
return {'audio', audio}
