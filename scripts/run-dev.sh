#!/usr/bin/env bash
# `make run [PORT=8080]`: a development secret, a local Redis of its own (port
# 6380, data in .run/, append-only file on), and the service on
# http://127.0.0.1:PORT/ with the demo site allowing that origin.
set -euo pipefail
cd "$(dirname "$0")/.."
start_redis=1
# shellcheck source=scripts/dev-env.sh
. scripts/dev-env.sh
echo "loibinh: http://127.0.0.1:$LOIBINH_PORT/ (Ctrl-C stops)"
echo "a moderator key for the dashboard: make key (in another terminal)"
exec .venv/bin/loibinh serve "$@"
