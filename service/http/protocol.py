"""Below the app, where `loibinh serve` runs it (`ServiceRunner`).

Requests that aiohttp cannot even parse (an over-long header or request
line, a malformed header) never reach a handler or the edge middleware.
aiohttp answers those itself, in plain text that echoes the offending bytes
back; here they get a problem document like every other error, which names
the request id and echoes nothing.

The access log (`AccessLogger`) writes a line per request answered."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from service.http import problems
from service.http.middlewares import new_request_id

log = logging.getLogger(__name__)
# The access log: INFO lines, on when settings.access_log is (serve.py).
ACCESS = logging.getLogger("loibinh.access")


class _ProblemRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status == 500:
            # A failure of ours outside any handler: aiohttp's answer sends no
            # detail unless in debug mode, and logs the traceback.
            return super().handle_error(request, status, exc, message)
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was already partly sent")
        request_id = new_request_id()
        log.info(
            "unparseable request from %s: %s [%s]",
            request.remote,
            type(exc).__name__ if exc else status,
            request_id,
        )
        if isinstance(exc, LineTooLong):
            name, detail = "headers-too-large", "a header or the request line is too long"
        else:
            name, detail = "malformed-request", "the request is not well-formed HTTP/1.1"
        response = problems.response(name, detail, extra={"request_id": request_id})
        response.headers["X-Request-Id"] = request_id
        response.force_close()  # the parser's state is unknown: the connection cannot go on
        return response


class _ProblemServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


class ServiceRunner(web.AppRunner):
    """An AppRunner whose connections answer unparseable requests with a problem document."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The app builds a plain Server with its own private arguments; the
        # subclass only changes which handler each connection gets.
        server.__class__ = _ProblemServer
        return server


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
