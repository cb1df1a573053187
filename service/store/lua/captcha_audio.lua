-- Plays the spoken challenge of a live captcha: the clip rendered with it,
-- never a new one. A listener may replay it (a screen-reader user often must),
-- up to a number of plays per challenge, so the clips a client can pull are
-- bounded by the challenges it may be issued.
--
-- KEYS: 1 live hash, 2 expiry zset
-- ARGV: 1 challenge id, 2 plays allowed
-- Answers: {'audio', wav} or {'unknown'|'no_audio'|'played_out'}
local id = ARGV[1]
local expires = tonumber(redis.call('ZSCORE', KEYS[2], id))
if not expires or expires <= now_ms() or redis.call('HEXISTS', KEYS[1], id) == 0 then
  return {'unknown'}
end
local audio = redis.call('HGET', KEYS[1], id .. '/audio')
if not audio then
  return {'no_audio'}
end
if redis.call('HINCRBY', KEYS[1], id .. '/plays', 1) > tonumber(ARGV[2]) then
  return {'played_out'}
end
return {'audio', audio}
