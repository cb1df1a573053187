#!/usr/bin/env bash
# `make key [SITE=demo] [ROLE=admin] [NAME=...]`: an API key for the
# dashboard, made with the same secret and Redis as `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/dev-env.sh
. scripts/dev-env.sh
exec .venv/bin/loibinh keys create --site "${SITE:-demo}" --role "${ROLE:-admin}" \
  --name "${NAME:-$(id -un 2>/dev/null || echo developer)}"
