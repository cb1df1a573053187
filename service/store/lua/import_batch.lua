-- A batch of imported comments (service/migration/), each stored as the
-- accept and decide scripts would have left it had it arrived and been
-- moderated: its hash, its state's queue, its thread when published, and
-- the site's memory of its author (comments, trust, strikes) and of its text
-- (the duplicate window's fingerprints). A source id already in the import
-- map is skipped, so a second run of the same file changes nothing.
-- KEYS and ARGV by name, in the order store/signatures.py builds them.
local import_map = KEYS[1]  -- source id -> comment id, for one source format
local pending_queue = KEYS[2]
local reported_queue = KEYS[3]
local approved_queue = KEYS[4]
local rejected_queue = KEYS[5]
local spam_queue = KEYS[6]
local trusted = KEYS[7]
local strikes = KEYS[8]
local audit = KEYS[9]
local item_keys = 10  -- KEYS[10..]: 6 per item: comment, thread ids, thread
-- public, the author's comments, history, duplicate window
local source = ARGV[1]  -- the format imported from
local key_id = ARGV[2]
local moderator = ARGV[3]
local fingerprint_window_s = ARGV[4]
local items = ARGV[5]
local item_args = 6  -- ARGV[6..]: 14 per item: source id, id, thread, parent id,
-- name, email, email hash (or ''), body, created (ms), status, visible ('1' or
-- '0'), public JSON, the text fingerprint ('' when too old for the duplicate
-- window), and its reasons
local queues = {pending = pending_queue, reported = reported_queue, approved = approved_queue,
                rejected = rejected_queue, spam = spam_queue}
local now = now_ms()
local imported, skipped = 0, 0

for i = 1, tonumber(items) do
  local k, a = item_keys + 6 * (i - 1), item_args + 14 * (i - 1)
  local comment, thread_ids, thread_public = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local author_comments, history, window = KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local source_id, id, thread, parent_id = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local name, email, email_hash, body = ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7]
  local created_ms, status, visible = ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]
  local public_json, text_fingerprint, reasons = ARGV[a + 11], ARGV[a + 12], ARGV[a + 13]
  -- Imported before, or (a loibinh export read back into its own site) there already.
  if redis.call('HEXISTS', import_map, source_id) == 1 or redis.call('EXISTS', comment) == 1 then
    skipped = skipped + 1
  else
    redis.call('HSET', import_map, source_id, id)
    redis.call('HSET', comment,
      'id', id, 'thread', thread, 'parent_id', parent_id, 'name', name,
      'email', email, 'body', body, 'ip_hash', '', 'email_hash', email_hash,
      'created_at', created_ms, 'status', status, 'visible', visible, 'public', public_json,
      'reasons', reasons, 'score', 0, 'reports', 0)
    redis.call('ZADD', queues[status], 0, id)
    if visible == '1' then
      redis.call('ZADD', thread_ids, 0, id)
      redis.call('HSET', thread_public, id, public_json)
    end
    if email_hash ~= '' then
      redis.call('SADD', author_comments, id)
      if status == 'approved' then
        redis.call('SADD', trusted, email_hash)
      elseif status == 'rejected' or status == 'spam' then
        redis.call('HINCRBY', strikes, email_hash, 1)
      end
    end
    if text_fingerprint ~= '' then
      local bands = fingerprint_bands(text_fingerprint)
      local current = redis.call('HMGET', window, unpack(bands))
      fingerprint_remember(window, text_fingerprint, bands, current, fingerprint_window_s)
    end
    history_add(history, now, key_id, moderator, 'imported', source .. ' ' .. source_id)
    imported = imported + 1
  end
end
if imported > 0 then
  audit_add(audit, now, key_id, moderator, 'import', '', imported .. ' comments from ' .. source)
end
return {imported, skipped}
