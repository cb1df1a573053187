#!/usr/bin/env bash
# `make bench`: loibinh's accept path against a bare aiohttp handler (the
# ceiling), on this machine, in one run. It starts a private redis-server,
# `loibinh serve --workers 2` (production mode, a bench site whose rate limits
# never refuse) and bench/ceiling.py with 2 workers, each on a free port, then
# hands over to bench/driver.py, which mints captchas, runs wrk and the
# open-loop generator, prints the summary and writes bench/results/latest.json.
# Everything started here is stopped by pid on exit.
#
# Knobs (environment): BENCH_REPEATS (3), BENCH_DURATION (10 s), BENCH_WARMUP
# (3 s), BENCH_THREADS (2), BENCH_CONNECTIONS (64), BENCH_WORKERS (2),
# BENCH_SKIP_MEMORY (unset), BENCH_REDIS_APPENDONLY (no).
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

status=0
"$python" bench/driver.py \
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
fi
exit "$status"
