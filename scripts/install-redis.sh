#!/usr/bin/env bash
# Installs what the tests need of Redis from the distribution's packages:
# redis-server (which is also the sentinel: `redis-server <conf> --sentinel`;
# Debian's redis-sentinel package adds only a system service) and redis-cli
# (`redis-cli --cluster create` makes the topology tests' cluster; Debian's
# redis-tools, a dependency of redis-server), and openssl, which makes the
# certificates of the TLS test. Only the binaries are wanted: the tests and
# `make run` start their own instances.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian's package starts a system instance; it is not ours to use or keep.
  if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now redis-server 2>/dev/null || true; fi
else
  echo "missing: ${missing[*]}, and apt-get is not available: install Redis 7 (redis-server, redis-cli) and openssl, and retry" >&2
  exit 1
fi
