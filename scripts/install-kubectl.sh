#!/usr/bin/env bash
# Installs Debian's kubectl (package kubernetes-client) for tests/test_deploy.py,
# which renders deploy/kubernetes/ with `kubectl kustomize`. Only rendering is
# needed: no cluster is contacted. Debian 12's kubectl is 1.20, whose built-in
# kustomize is old: the manifests keep to the kustomization fields it knows.
set -euo pipefail
if command -v kubectl >/dev/null 2>&1; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    kubernetes-client
else
  echo "kubectl is missing and apt-get is not available: install kubectl" >&2
  exit 1
fi
