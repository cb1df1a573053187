#!/usr/bin/env bash
# `make run`: a development secret, a local Redis of its own (port 6380, data
# in .run/, append-only file on), and the service on http://127.0.0.1:8080/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .run
if [ -z "${LOIBINH_SECRET_KEY:-}" ] && [ -z "${LOIBINH_SECRET_KEY_FILE:-}" ]; then
  [ -s .dev-secret ] || head -c 48 /dev/urandom | base64 | tr -d '\n' > .dev-secret
  export LOIBINH_SECRET_KEY_FILE="$PWD/.dev-secret"
fi
export LOIBINH_MODE="${LOIBINH_MODE:-development}"
if [ -z "${LOIBINH_REDIS__URL:-}" ]; then
  port="${LOIBINH_DEV_REDIS_PORT:-6380}"
  if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/.run" --appendonly yes \
      --daemonize yes --pidfile "$PWD/.run/redis.pid" --logfile "$PWD/.run/redis.log"
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export LOIBINH_REDIS__URL="redis://127.0.0.1:$port/0"
  echo "Redis for development: $LOIBINH_REDIS__URL (stop it with: kill \$(cat .run/redis.pid))"
fi
echo "loibinh: http://127.0.0.1:${LOIBINH_PORT:-8080}/ (Ctrl-C stops)"
exec .venv/bin/loibinh serve "$@"
