# make install | run [PORT=8080] | key | test | lint | format | bench | voices | docs | lock | manifests
# Each target installs what it needs first, so a fresh clone needs only make.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The service's dependencies, pinned with their hashes: what the container
# image installs, and what every development and CI environment runs too.
LOCK := requirements.lock

.PHONY: install run key test lint format bench voices docs all redis-server chromium kubectl lock manifests

all: lint test

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	# The development and docs tools on top, without moving a locked package
	# (the same pins, without hashes: pip cannot hash an editable install).
	grep -E '^[A-Za-z0-9]' $(LOCK) | sed 's/ *\\$$//' > $(VENV)/constraints.txt
	$(BIN)/pip install --quiet -c $(VENV)/constraints.txt -e '.[dev,docs]'
	touch $(STAMP)

# Pin the dependencies of pyproject.toml again, at their newest allowed
# versions, with the hashes of every platform's files.
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --upgrade \
		--output-file $(LOCK) pyproject.toml

# The tests and `make run` start their own redis-server (the topology tests
# also sentinels, a cluster made by redis-cli, and TLS with openssl's
# certificates); fetch what is missing.
redis-server:
	@scripts/install-redis.sh

# The browser tests (tests/test_browser.py) drive Debian's chromium.
chromium:
	@test -x /usr/bin/chromium || scripts/install-chromium.sh

# tests/test_deploy.py renders the Kubernetes manifests with `kubectl kustomize`.
kubectl:
	@command -v kubectl >/dev/null 2>&1 || scripts/install-kubectl.sh

# The Kubernetes manifests of deploy/kubernetes/, rendered, to read or apply.
manifests: kubectl
	kubectl kustomize deploy/kubernetes/overlays/example

install: $(STAMP) redis-server

# PORT chooses the port; the demo site's allowed origins follow it.
run: install
	$(if $(PORT),LOIBINH_PORT=$(PORT)) scripts/run-dev.sh

# A dashboard key (SITE=demo ROLE=admin NAME=...) on the Redis `make run` uses.
key: install
	scripts/dev-key.sh

test: install chromium kubectl
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/mypy service

format: install
	$(BIN)/ruff format service tests bench
	$(BIN)/ruff check --fix service tests bench

bench: install
	bench/run.sh

# The manual: mkdocs.yml and docs/, into site/. --strict turns every warning
# (a broken link or anchor, a page missing from the nav) into a failure.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Regenerate the audio captcha's voice clips (needs Debian's espeak-ng; the
# clips are committed, so nothing else needs it).
voices: install
	$(BIN)/python scripts/make-voices.py
