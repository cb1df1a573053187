#!/usr/bin/env bash
# Installs a redis-server binary from the distribution's packages. Only the
# binary is wanted: the tests and `make run` start their own instances.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server
  # Debian's package starts a system instance; it is not ours to use or keep.
  if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now redis-server 2>/dev/null || true; fi
else
  echo "redis-server is missing and apt-get is not available: install Redis 7 and retry" >&2
  exit 1
fi
