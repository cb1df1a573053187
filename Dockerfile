# syntax=docker/dockerfile:1
# loibinh: a builder stage makes the virtual environment, a slim runtime stage
# runs it as a non-root user. `docker compose up --build` uses this file.
#
# Reproducible: the base image is pinned by digest (a tag moves, a digest
# does not), and every Python package comes from requirements.lock, each
# checked against its hash. To move to a newer base (security fixes), look up
# the tag's current digest and replace it here, in one commit:
#   docker buildx imagetools inspect python:3.11-slim   # the "Digest:" line
# (or `crane digest python:3.11-slim`, or `skopeo inspect`). The digest is
# that of the multi-platform index, so it builds on amd64 and arm64 alike.
# To move the packages: `make lock` (docs/deployment.md).

ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

# --- builder ------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from the lock alone, so that this layer is reused until
# the lock itself changes, not rebuilt on every source edit. --require-hashes:
# a package whose file does not match its recorded hash fails the build.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# Then the package, without dependencies: a regular (not editable) install, so
# everything the service reads at run time is inside /opt/venv. The package
# carries its data (pyproject.toml's package-data): the Lua scripts, the
# widget's static files, the voice clips, the base model of the learned
# screen, and the defaults. service/defaults
# is a link to the repository's config/ folder; the build follows it, so
# default.toml and the word lists land in site-packages/service/defaults/,
# where service/settings.py finds them through importlib.resources. That is
# why config/ is copied here (and let in by .dockerignore) although the
# runtime stage has no source tree at all.
# (pyproject.toml names README.md as the long description: the build needs it.)
COPY pyproject.toml README.md ./
COPY service/ service/
COPY config/ config/
RUN pip install --no-deps . \
 && cd / \
 && python -c "import service, service.settings as s; assert s.DEFAULT_CONFIG.is_file() and s.DEFAULT_CONFIG.is_relative_to('/opt/venv'), (service.__file__, s.DEFAULT_CONFIG)" \
 && LOIBINH_MODE=development loibinh check-config >/dev/null

# --- runtime ------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# LOIBINH_HOST: listen on every interface of the container, not its loopback.
# The port stays in the configuration (8080 by default); if you change it,
# change it with LOIBINH_PORT so that the HEALTHCHECK below follows.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOIBINH_HOST=0.0.0.0
RUN groupadd --system --gid 10001 loibinh \
 && useradd --system --uid 10001 --gid loibinh --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin loibinh
# Only the virtual environment: the package, its data and its dependencies.
# It stays owned by root: the service writes nothing there (worker metrics go
# to a directory under /tmp).
COPY --from=builder /opt/venv /opt/venv
USER loibinh
EXPOSE 8080
# slim has no curl: ask /healthz with the standard library. urlopen raises on
# anything but a 2xx, which also makes the check fail.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LOIBINH_PORT', '8080'), timeout=2).status == 200 else 1)"]
CMD ["loibinh", "serve"]
