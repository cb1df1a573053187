"""The service's log: plain lines for people, or one JSON object a line for a
log collector, and the access log line written for each request."""

from __future__ import annotations

import logging
import time

import orjson
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from service.settings import Settings

TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"
ACCESS = logging.getLogger("loibinh.access")
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


def configure(settings: Settings) -> None:
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


class AccessLogger(AbstractAccessLogger):
    """A line per request answered, with the request id the edge middleware
    gave the answer (the one the client sees in X-Request-Id). The client's
    address is left out: the service keeps addresses only as keyed hashes."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d %.1f ms",
            request.method,
            request.path,
            response.status,
            time * 1000,
            extra={
                "request_id": response.headers.get("X-Request-Id", ""),
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "duration_ms": round(time * 1000, 3),
                "bytes": response.body_length,
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
