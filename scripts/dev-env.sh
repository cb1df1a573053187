# Sourced by scripts/run-dev.sh (`make run`) and scripts/dev-key.sh (`make key`):
# one place decides the development secret, mode, port, allowed origins and
# Redis, so that a key made with `make key` lands where `make run` looks.
# With start_redis=1 it starts the development Redis when it is not running.

if [ -z "${LOIBINH_SECRET_KEY:-}" ] && [ -z "${LOIBINH_SECRET_KEY_FILE:-}" ]; then
  [ -s .dev-secret ] || head -c 48 /dev/urandom | base64 | tr -d '\n' > .dev-secret
  export LOIBINH_SECRET_KEY_FILE="$PWD/.dev-secret"
fi
export LOIBINH_MODE="${LOIBINH_MODE:-development}"
export LOIBINH_PORT="${LOIBINH_PORT:-8080}"
# The demo article is served from this port, so the demo site must allow it as an origin.
if [ -z "${LOIBINH_SITES__DEMO__ALLOWED_ORIGINS:-}" ] && [ -z "${LOIBINH_CONFIG:-}" ]; then
  export LOIBINH_SITES__DEMO__ALLOWED_ORIGINS="[\"http://127.0.0.1:$LOIBINH_PORT\",\"http://localhost:$LOIBINH_PORT\"]"
fi
# The demo article (every demo thread) is the page at /, where the form page and dashboard link.
if [ -z "${LOIBINH_SITES__DEMO__THREAD_URL:-}" ] && [ -z "${LOIBINH_CONFIG:-}" ]; then
  export LOIBINH_SITES__DEMO__THREAD_URL="http://127.0.0.1:$LOIBINH_PORT/?thread={thread}"
fi
if [ -z "${LOIBINH_REDIS__URL:-}" ]; then
  dev_redis_port="${LOIBINH_DEV_REDIS_PORT:-6380}"
  if ! redis-cli -p "$dev_redis_port" ping >/dev/null 2>&1; then
    if [ "${start_redis:-0}" != 1 ]; then
      echo "no development Redis on 127.0.0.1:$dev_redis_port: start it with make run" >&2
      exit 1
    fi
    mkdir -p .run
    redis-server --port "$dev_redis_port" --bind 127.0.0.1 --dir "$PWD/.run" --appendonly yes \
      --daemonize yes --pidfile "$PWD/.run/redis.pid" --logfile "$PWD/.run/redis.log"
    for _ in $(seq 50); do redis-cli -p "$dev_redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    echo "Redis for development: 127.0.0.1:$dev_redis_port (stop it with: kill \$(cat .run/redis.pid))"
  fi
  export LOIBINH_REDIS__URL="redis://127.0.0.1:$dev_redis_port/0"
fi
