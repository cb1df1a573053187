-- wrk script: every request posts a realistic Vietnamese comment with its own
-- captcha (minted beforehand, so the service's consume path really runs), its
-- own email address and a rotating author name.
--
--   wrk -t2 -c64 -d10s -s bench/submit.lua http://127.0.0.1:8080/v1/sites/bench/comments \
--       -- CAPTCHAS THREADS COMMENT_FILE NAMES_FILE [LABEL]
--
-- CAPTCHAS: `loibinh captcha mint` output, one "id answer" per line. Thread k
-- (of THREADS, which must equal wrk's -t) takes lines k, k+THREADS, ... so no
-- two requests of a run share a captcha. A thread that runs out sends a
-- captcha id that cannot exist, the service answers 400, and done() reports
-- it under "exhausted": mint more.
--
-- done() prints one line `BENCH_RESULT {json}` for bench/driver.py: the
-- request count, duration, latency percentiles (microseconds), socket errors
-- and every HTTP status seen, counted by response().

local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local function json_string(s)
  local escaped = s:gsub('[%c"\\]', function(c)
    if c == "\n" then return "\\n" end
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. escaped .. '"'
end

local function read_all(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return (text:gsub("%s+$", ""))
end

local captchas, names
local sent, exhausted = 0, 0
local prefix, middle, suffix, label

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  assert(path and nthreads and args[3] and args[4], "usage: -- CAPTCHAS THREADS COMMENT NAMES")
  label = args[5] or "r"
  captchas = {}
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid then
      local id, answer = line:match("^(%S+)%s+(%S+)$")
      if id then captchas[#captchas + 1] = '"captcha":{"id":"' .. id .. '","answer":"' .. answer .. '"}}' end
    end
    i = i + 1
  end
  names = {}
  for line in io.lines(args[4]) do
    if line ~= "" then names[#names + 1] = json_string(line) end
  end
  prefix = '{"thread":"ca-mau-2022-08-12","parent_id":null,"author":{"name":'
  middle = ',"email":"'
  suffix = '@example.vn"},"body":' .. json_string(read_all(args[3])) .. ","
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  statuses = {}
  requests_made = 0
  exhausted_count = 0
end

function request()
  sent = sent + 1
  requests_made = sent
  local captcha = captchas[sent]
  if captcha == nil then
    exhausted = exhausted + 1
    exhausted_count = exhausted
    captcha = '"captcha":{"id":"exhausted-no-such-captcha","answer":"AAAAA"}}'
  end
  local body = prefix .. names[sent % #names + 1] .. middle
    .. "doc.gia." .. label .. "." .. tid .. "." .. sent .. suffix .. captcha
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, made, out_of_captchas = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      counts[status] = (counts[status] or 0) + n
    end
    made = made + (thread:get("requests_made") or 0)
    out_of_captchas = out_of_captchas + (thread:get("exhausted_count") or 0)
  end
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"requests_sent":%d,"exhausted":%d,'
      .. '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},'
      .. '"statuses":{%s}}\n',
    summary.requests, summary.duration, made, out_of_captchas,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status,
    table.concat(parts, ",")))
end
