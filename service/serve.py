"""Running the service: one process, or N worker processes on one port.

Workers each bind the port with SO_REUSEPORT and the kernel spreads new
connections across them. That needs no extra dependency (gunicorn's aiohttp
worker would add one, plus a master that only forwards), each worker is a
plain `create_app` process, and a crashed worker is restarted by this
supervisor while the others keep serving.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import tempfile
import time
from multiprocessing.process import BaseProcess
from typing import Any

from aiohttp import web

from service.main import create_app
from service.runtime import freeze_start_up
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
    app = create_app(settings)
    # Last of the start-up steps: what they allocated is there to stay.
    app.on_startup.append(_freeze)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=settings.workers > 1,
        access_log=None,
        print=None,
        shutdown_timeout=5,
    )


async def _freeze(app: web.Application) -> None:
    freeze_start_up()


def serve(overrides: dict[str, Any]) -> int:
    settings = load_settings(**overrides)  # fail here, once, on a bad configuration
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    if settings.workers == 1:
        log.info("serving on http://%s:%d/", settings.host, settings.port)
        run_worker(overrides)
        return 0
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return _supervise(overrides, settings.workers, settings.host, settings.port)
    # Workers write their metrics here, so that any of them can answer a scrape.
    with tempfile.TemporaryDirectory(prefix="loibinh-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        return _supervise(overrides, settings.workers, settings.host, settings.port)


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
