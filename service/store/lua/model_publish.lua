-- Publishes what the learner learned from a batch of decisions: the new
-- weights (none when the batch taught nothing), the last decision read, and
-- the label learned for each comment, all at once. Refused if the model's
-- version moved since the learner read it (a reset, or a second learner
-- after a lost lease): what it learned is from a model that is gone.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local model = KEYS[1]
local labels = KEYS[2]
local expected_version = ARGV[1]
local weights = ARGV[2]  -- '' when nothing was learned
local last_id = ARGV[3]
local learned = ARGV[4]
local updated_ms = ARGV[5]
local label_pairs = 6  -- ARGV[6..]: comment id, label ('1' abusive, '0' clean)
local version = tonumber(redis.call('HGET', model, 'version') or '0')
if version ~= tonumber(expected_version) then
  return 'stale'
end
redis.call('HSET', model, 'last_id', last_id)
if weights == '' then
  return version
end
redis.call('HSET', model, 'weights', weights, 'updated_at', updated_ms)
redis.call('HINCRBY', model, 'learned', tonumber(learned))
for i = label_pairs, #ARGV, 2 do
  redis.call('HSET', labels, ARGV[i], ARGV[i + 1])
end
return redis.call('HINCRBY', model, 'version', 1)
