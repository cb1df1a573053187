"""Running the service: one process, or N worker processes on one port.

Workers each bind the port with SO_REUSEPORT and the kernel spreads new
connections across them. That needs no extra dependency (gunicorn's aiohttp
worker would add one, plus a master that only forwards), each worker is a
plain `create_app` process, and a crashed worker is restarted by this
supervisor while the others keep serving.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from multiprocessing.process import BaseProcess
from typing import Any

from aiohttp import web

from service.main import create_app
from service.settings import load_settings

log = logging.getLogger(__name__)


def run_worker(overrides: dict[str, Any]) -> None:
    settings = load_settings(**overrides)
    # Sharing the port is for our own workers only: a lone process that finds
    # the port taken (a forgotten `make run`) should fail, not share it.
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s",
    )
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        pass
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        reuse_port=settings.workers > 1,
        access_log=None,
        # Said once the socket is bound, so that a taken port never logs "serving on" first.
        print=lambda _: (
            log.info("serving on http://%s:%d/", settings.host, settings.port)
            if settings.workers == 1
            else None
        ),
        shutdown_timeout=5,
    )


def serve(overrides: dict[str, Any]) -> int:
    settings = load_settings(**overrides)  # fail here, once, on a bad configuration
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    if settings.workers == 1:
        try:
            run_worker(overrides)
        except OSError as exc:
            if exc.errno not in _BIND_ERRORS:
                raise
            # One line a newcomer can act on, not a traceback: the usual cause
            # is a `make run` still running in another terminal.
            print(_bind_failure(exc, settings.host, settings.port), file=sys.stderr)
            return 1
        return 0
    try:
        _probe(settings.host, settings.port)
    except OSError as exc:
        if exc.errno not in _BIND_ERRORS:
            raise
        # Workers share the port among themselves only: one that finds it
        # taken would crash, be restarted and crash again, for ever.
        print(_bind_failure(exc, settings.host, settings.port), file=sys.stderr)
        return 1
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return _supervise(overrides, settings.workers, settings.host, settings.port)
    # Workers write their metrics here, so that any of them can answer a scrape.
    with tempfile.TemporaryDirectory(prefix="loibinh-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        return _supervise(overrides, settings.workers, settings.host, settings.port)


_BIND_ERRORS = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def _probe(host: str, port: int) -> None:
    """Bind the port once, alone, and let it go: OSError if it is taken."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)


def _bind_failure(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"loibinh: port {port} on {host} is already in use; stop what serves it "
            f"or choose another port (make run PORT=8081, or loibinh serve --port 8081)"
        )
    return f"loibinh: cannot listen on {host}:{port}: {exc.strerror or exc}"


def _supervise(overrides: dict[str, Any], count: int, host: str, port: int) -> int:
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        process = context.Process(target=run_worker, args=(overrides,), daemon=False)
        process.start()
        return process

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [start() for _ in range(count)]
    log.info("serving on http://%s:%d/ with %d workers", host, port, count)
    while not stopping:
        time.sleep(0.2)
        for i, process in enumerate(workers):
            if not process.is_alive() and not stopping:
                log.error("worker %s exited with %s; restarting it", process.pid, process.exitcode)
                time.sleep(1)
                workers[i] = start()
    for process in workers:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    for process in workers:
        process.join(10)
        if process.is_alive():
            process.kill()
    return 0
