#!/usr/bin/env bash
# `make bench`: loibinh's accept path, its public read and its captcha issue
# against a bare aiohttp handler (the ceiling) and against Isso, on this
# machine, in one run. It starts a private redis-server, `loibinh serve
# --workers 2` (production mode, sites whose rate limits never refuse),
# bench/ceiling.py with 2 workers and Isso under gunicorn with 2 workers
# (installed from PyPI into its own virtual environment under BENCH_CACHE, for
# the bench only), each on a free port, then hands over to bench/driver.py,
# which mints captchas, runs wrk and the open-loop generator, prints the
# summary, writes bench/results/latest.json and the table of
# docs/benchmarks.md. Everything started here is stopped by pid on exit.
#
# Knobs (environment): BENCH_REPEATS (3), BENCH_DURATION (10 s), BENCH_WARMUP
# (3 s), BENCH_RATE (1000/s, the open-loop accept runs), BENCH_READ_DURATION
# (5 s), BENCH_CAPTCHA_RATE (100/s), BENCH_THREADS (2), BENCH_CONNECTIONS (64),
# BENCH_WORKERS (2), BENCH_SKIP_MEMORY (unset), BENCH_SKIP_ISSO (unset),
# BENCH_NO_DOCS (unset: the docs' table is written), BENCH_CACHE
# (bench/.cache), BENCH_REDIS_APPENDONLY (no).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
python="$root/.venv/bin/python"
if [ ! -x "$root/.venv/bin/loibinh" ]; then
  echo "no .venv with loibinh installed: run \`make install\` (or \`make bench\`) first" >&2
  exit 1
fi

# wrk and redis-server come from the distribution, installed only when missing.
install_apt() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$1 is missing and apt-get is not available: install it and retry" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$1"
}
command -v wrk >/dev/null 2>&1 || install_apt wrk
command -v redis-server >/dev/null 2>&1 || scripts/install-redis.sh

workers="${BENCH_WORKERS:-2}"
cache="${BENCH_CACHE:-$root/bench/.cache}"

# Isso, the peer: its own virtual environment, made once and kept in the cache.
isso_venv="$cache/isso"
if [ -z "${BENCH_SKIP_ISSO:-}" ] && [ ! -x "$isso_venv/bin/gunicorn" ]; then
  mkdir -p "$cache"
  python3 -m venv "$isso_venv"
  "$isso_venv/bin/pip" install --quiet isso==0.14.0 gunicorn==27.0.1
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/loibinh-bench.XXXXXX")"
pids=()

stop() {
  local pid
  # Reverse order: the service and the ceiling before their Redis.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid="${pids[$i]}"
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid="${pids[$i]}"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT TERM

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
redis_port="$(free_port)"
service_port="$(free_port)"
ceiling_port="$(free_port)"
while [ "$service_port" = "$redis_port" ]; do service_port="$(free_port)"; done
while [ "$ceiling_port" = "$redis_port" ] || [ "$ceiling_port" = "$service_port" ]; do
  ceiling_port="$(free_port)"
done
isso_port="$(free_port)"
while [ "$isso_port" = "$redis_port" ] || [ "$isso_port" = "$service_port" ] ||
  [ "$isso_port" = "$ceiling_port" ]; do
  isso_port="$(free_port)"
done

# A private Redis: never the developer's, never 6379. No RDB snapshots (a
# fork in the middle of a measurement would show up in p99); AOF on request.
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" --save "" \
  --appendonly "${BENCH_REDIS_APPENDONLY:-no}" --logfile "$tmp/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis_url="redis://127.0.0.1:$redis_port/0"

cat >"$tmp/loibinh.toml" <<'TOML'
# The bench site: limits high enough never to refuse, so every request runs
# the whole accept path (captcha consumed, both limits charged, comment stored
# and queued) and must be a 202.
[sites.bench]
moderation = "pre"
locale = "vi"

[sites.bench.rate_limits]
submit.ip = { limit = 1000000, period = 60, burst = 1000000 }
submit.email = { limit = 1000000, period = 60, burst = 1000000 }
captcha.ip = { limit = 1000000, period = 60, burst = 1000000 }

# The public read: a thread of published comments (post-moderation, a
# screening that holds nothing, so that all 20 seeded comments show).
[sites.read]
moderation = "post"
locale = "vi"
abuse = { hold_at = 1000, spam_at = 2000, reject_at = 3000, duplicate_window_seconds = 0 }

[sites.read.rate_limits]
submit.ip = { limit = 1000000, period = 60, burst = 1000000 }
submit.email = { limit = 1000000, period = 60, burst = 1000000 }
captcha.ip = { limit = 1000000, period = 60, burst = 1000000 }

# Captcha issue without the image pool: a proof of work.
[sites.pow]
captcha_provider = "pow"
locale = "vi"

[sites.pow.rate_limits]
captcha.ip = { limit = 1000000, period = 60, burst = 1000000 }
TOML

export LOIBINH_MODE=production
LOIBINH_SECRET_KEY="$("$python" -c 'import secrets; print(secrets.token_urlsafe(36))')"
export LOIBINH_SECRET_KEY
export LOIBINH_REDIS__URL="$redis_url"
export LOIBINH_PORT="$service_port"
export LOIBINH_CONFIG="$tmp/loibinh.toml"
export LOIBINH_LOG_LEVEL=WARNING
export PROMETHEUS_MULTIPROC_DIR="$tmp/metrics"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

"$root/.venv/bin/loibinh" serve --workers "$workers" >"$tmp/service.log" 2>&1 &
service_pid=$!
pids+=("$service_pid")
"$python" bench/ceiling.py --port "$ceiling_port" --workers "$workers" \
  --redis-url "$redis_url" >"$tmp/ceiling.log" 2>&1 &
ceiling_pid=$!
pids+=("$ceiling_pid")

isso_args=()
if [ -z "${BENCH_SKIP_ISSO:-}" ]; then
  # Isso's defaults but for the guard (its rate limit of 2 posts a minute per
  # address would refuse the load) and a private database.
  cat >"$tmp/isso.cfg" <<CFG
[general]
dbpath = $tmp/isso.db
host = http://127.0.0.1:$isso_port/
[server]
listen = http://127.0.0.1:$isso_port/
[guard]
enabled = false
[moderation]
enabled = false
CFG
  ISSO_SETTINGS="$tmp/isso.cfg" "$isso_venv/bin/gunicorn" --workers 2 \
    --bind "127.0.0.1:$isso_port" --chdir "$tmp" --no-control-socket \
    isso.run >"$tmp/isso.log" 2>&1 &
  isso_pid=$!
  pids+=("$isso_pid")
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$isso_port/info" && break
    sleep 0.1
  done
  isso_args=(--isso "http://127.0.0.1:$isso_port" --isso-pid "$isso_pid")
fi
docs_args=()
if [ -z "${BENCH_NO_DOCS:-}" ]; then docs_args=(--docs "$root/docs/benchmarks.md"); fi

status=0
"$python" bench/driver.py \
  "${isso_args[@]}" \
  "${docs_args[@]}" \
  --service "http://127.0.0.1:$service_port" \
  --ceiling "http://127.0.0.1:$ceiling_port" \
  --service-pid "$service_pid" \
  --ceiling-pid "$ceiling_pid" \
  --redis "$redis_url" \
  --site bench \
  --workers "$workers" \
  --tmp "$tmp" \
  --out "$root/bench/results/latest.json" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- service log (last 30 lines) ---" >&2
  tail -n 30 "$tmp/service.log" >&2 || true
  echo "--- ceiling log (last 30 lines) ---" >&2
  tail -n 30 "$tmp/ceiling.log" >&2 || true
  if [ -f "$tmp/isso.log" ]; then
    echo "--- isso log (last 30 lines) ---" >&2
    tail -n 30 "$tmp/isso.log" >&2 || true
  fi
fi
exit "$status"
