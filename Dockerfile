# syntax=docker/dockerfile:1
# loibinh: a builder stage makes the virtual environment, a slim runtime stage
# runs it as a non-root user. `docker compose up --build` uses this file.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder ------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first, from pyproject.toml alone, so that this layer is reused
# until the dependency list itself changes, not rebuilt on every source edit.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --upgrade pip \
 && pip install -r /tmp/requirements.txt

# Then the package, without dependencies. It is installed *editable*, from the
# source tree in /app, on purpose: service/settings.py finds its defaults at
# <package dir>/../config/default.toml. A regular install would put the package
# in site-packages, where that path does not exist, and the service would then
# refuse to start for want of its defaults. Installed
# editable, `service` is imported from /app/service, the defaults resolve to
# /app/config/default.toml, and the `loibinh` command exists. The runtime stage
# copies /app and /opt/venv to the same paths, which keeps that link valid.
# (pyproject.toml names README.md as the long description: the build needs it.)
COPY README.md ./
COPY service/ service/
COPY config/ config/
RUN pip install --no-deps --editable . \
 && python -m compileall -q service \
 && python -c "from service.settings import DEFAULT_CONFIG; assert str(DEFAULT_CONFIG) == '/app/config/default.toml' and DEFAULT_CONFIG.exists(), DEFAULT_CONFIG"

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
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
# The code and the configuration stay owned by root: the service writes nothing
# there (worker metrics go to a directory under /tmp).
USER loibinh
EXPOSE 8080
# slim has no curl: ask /healthz with the standard library. urlopen raises on
# anything but a 2xx, which also makes the check fail.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LOIBINH_PORT', '8080'), timeout=2).status == 200 else 1)"]
CMD ["loibinh", "serve"]
