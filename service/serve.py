"""Running the service: one process, or N worker processes on one port.

Workers each bind the port with SO_REUSEPORT and the kernel spreads new
connections across them. That needs no extra dependency (gunicorn's aiohttp
worker would add one, plus a master that only forwards), each worker is a
plain `create_app` process, and a crashed worker is restarted by this
supervisor while the others keep serving.

Stopping, on SIGTERM or SIGINT: readiness answers 503 at once, the socket
stays open for `drain_seconds` so that load balancers see it and stop
sending, then it closes, requests in flight get `shutdown_seconds` to
finish, the app's cleanup closes Redis and the captcha render processes,
and the process exits. The supervisor forwards the signal to its workers
and waits for them. A worker dies with its supervisor and a render process
with its worker even when killed outright (lifeline.py).
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

import orjson
from aiohttp import web

from service.http import public
from service.http.protocol import ACCESS, AccessLogger, ServiceRunner
from service.http.state import DRAINING, METRICS, METRICS_ONLY, SERVICES, SETTINGS
from service.main import create_app
from service.process.lifeline import die_with_parent
from service.process.runtime import freeze_start_up
from service.settings import Settings, load_settings

log = logging.getLogger(__name__)

TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"
# Attributes every LogRecord has; anything else on a record was passed in
# `extra=` and belongs in the JSON object.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (RFC 3339, UTC), level, logger, message,
    process id, what the call passed in `extra=`, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(settings: Settings) -> None:
    """The root logger as the settings ask, replacing whatever was there (a
    worker process starts with none, the supervisor may have set one)."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # The access log is an INFO line per request: it follows the access_log
    # switch, not the service's level.
    ACCESS.setLevel(logging.INFO if settings.access_log else logging.WARNING)


def run_worker(overrides: dict[str, Any]) -> None:
    settings = load_settings(**overrides)
    configure_logging(settings)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        pass
    app = create_app(settings)
    # Last of the start-up steps: what they allocated is there to stay.
    app.on_startup.append(_freeze)
    asyncio.run(serve_app(app, settings))


def _supervised_worker(overrides: dict[str, Any], supervisor: int) -> None:
    die_with_parent(supervisor)
    run_worker(overrides)


async def serve_app(app: web.Application, settings: Settings) -> None:
    """Serve `app` until SIGTERM or SIGINT, then stop as the module says."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = ServiceRunner(
        app,
        handle_signals=False,
        access_log_class=AccessLogger,
        access_log=ACCESS,
        shutdown_timeout=settings.shutdown_seconds,
    )
    await runner.setup()
    runners: list[web.AppRunner] = [runner]
    serving = False
    try:
        # Sharing the port is for our own workers only: a lone process that
        # finds the port taken (a forgotten `make run`) should fail, not share it.
        shared = settings.workers > 1
        await web.TCPSite(runner, settings.host, settings.port, reuse_port=shared).start()
        if settings.metrics_port is not None:
            metrics_runner = web.AppRunner(_metrics_app(app), handle_signals=False, access_log=None)
            await metrics_runner.setup()
            runners.insert(0, metrics_runner)
            await web.TCPSite(
                metrics_runner, settings.metrics_host, settings.metrics_port, reuse_port=shared
            ).start()
        log.info("serving on http://%s:%d/", settings.host, settings.port)
        serving = True
        await stop.wait()
        app[DRAINING].set()
        app[METRICS].draining.set(1)
        log.info(
            "stopping: readiness now fails; closing the socket in %s s", settings.drain_seconds
        )
        await asyncio.sleep(settings.drain_seconds)
    finally:
        # The socket closes, requests in flight finish, then the app's cleanup runs.
        for each in runners:
            await each.cleanup()
        # A port found taken is said in one line by serve(), with nothing after it.
        if serving:
            log.info("stopped")


def _metrics_app(app: web.Application) -> web.Application:
    """/metrics alone, for its own port: the service's registry and Redis."""
    metrics = web.Application()
    metrics[METRICS_ONLY] = True
    metrics[METRICS] = app[METRICS]
    metrics[SETTINGS] = app[SETTINGS]
    metrics[SERVICES] = app[SERVICES]
    metrics.router.add_get("/metrics", public.metrics)
    return metrics


async def _freeze(app: web.Application) -> None:
    freeze_start_up()


def serve(overrides: dict[str, Any]) -> int:
    settings = load_settings(**overrides)  # fail here, once, on a bad configuration
    configure_logging(settings)
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
        return _supervise(overrides, settings)
    # Workers write their metrics here, so that any of them can answer a scrape.
    with tempfile.TemporaryDirectory(prefix="loibinh-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        return _supervise(overrides, settings)


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


def _supervise(overrides: dict[str, Any], settings: Settings) -> int:
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        process = context.Process(
            target=_supervised_worker, args=(overrides, os.getpid()), daemon=False
        )
        process.start()
        return process

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [start() for _ in range(settings.workers)]
    log.info(
        "serving on http://%s:%d/ with %d workers", settings.host, settings.port, settings.workers
    )
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
    # Each worker drains, then gives its requests in flight their time.
    patience = settings.drain_seconds + settings.shutdown_seconds + 5
    for process in workers:
        process.join(patience)
        if process.is_alive():
            process.kill()
    return 0
