-- Library: the text fingerprints of a duplicate window (keyschema
-- fingerprints), shared by the accept path that compares and remembers them
-- and the import that remembers them as if its comments had just arrived.

-- A fingerprint's 16 two-byte MinHash values, and the 8 bands (pairs of
-- values, prefixed by their number) under which it is filed.
local function fingerprint_bands(text_fingerprint)
  local values, bands = {}, {}
  for v = 1, 16 do values[v] = string.sub(text_fingerprint, 2 * v - 1, 2 * v) end
  for b = 0, 7 do bands[b + 1] = b .. values[2 * b + 1] .. values[2 * b + 2] end
  return bands, values
end

-- Files the fingerprint under each band, in front of the band's latest
-- records (three kept: `current_records` is what HMGET read of the window);
-- the window's key expires whole after the next window.
local function fingerprint_remember(window, text_fingerprint, bands, current_records, window_s)
  local fields = {}
  for b, band in ipairs(bands) do
    fields[2 * b - 1] = band
    fields[2 * b] = text_fingerprint .. string.sub(current_records[b] or '', 1, 72)
  end
  redis.call('HSET', window, unpack(fields))
  redis.call('EXPIRE', window, 2 * tonumber(window_s))
end
