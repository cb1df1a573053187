"""The edge of every request: a request id, metrics, and the one place where
errors become answers. Anything unexpected becomes a logged 500 that names the
request id, never a traceback sent to the client."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from service import errors
from service.http import cors, problems
from service.http.state import METRICS, RATE_METER, SETTINGS

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Ids need to be unique, not secret: a random prefix per process and a
# counter cost far less than reading the system's random source per request.
_ID_PREFIX = secrets.token_hex(4)
_ID_COUNTER = itertools.count()


def new_request_id() -> str:
    """An id for a request that brought none (or an unusable one)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFF:08x}"


def _from_http(exc: web.HTTPException) -> errors.LoibinhError | None:
    if isinstance(exc, web.HTTPNotFound):
        return errors.NotFound("no resource at this URL")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return errors.MethodNotAllowed(f"{exc.method} is not allowed here", exc.allowed_methods)
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return errors.PayloadTooLarge(exc.text or "the request body is too large")
    return None


@web.middleware
async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    supplied = request.headers.get("X-Request-Id", "")
    request_id = supplied if _REQUEST_ID.match(supplied) else new_request_id()
    app = request.app
    response: web.StreamResponse
    try:
        response = await handler(request)
    except errors.LoibinhError as exc:
        response = problems.from_error(exc, app[SETTINGS].retry_after_seconds)
        if isinstance(exc, errors.StoreUnavailable):
            app[METRICS].redis_errors.labels(_route_name(request)).inc()
    except web.HTTPException as exc:
        mapped = _from_http(exc)
        if mapped is None:
            raise
        response = problems.from_error(mapped, app[SETTINGS].retry_after_seconds)
    except Exception:
        log.exception(
            "unexpected error answering %s %s [%s]", request.method, request.path, request_id
        )
        response = problems.response(
            "internal", "an unexpected error occurred", extra={"request_id": request_id}
        )
    # Every answer, errors included, names its request and its rate limits.
    response.headers["X-Request-Id"] = request_id
    meter = request.get(RATE_METER)
    if meter is not None:
        response.headers.update(meter.headers())
    cors.add_headers(request, response)
    app[METRICS].answered(
        _route_name(request), request.method, response.status, time.perf_counter() - started
    )
    return response


def _route_name(request: web.Request) -> str:
    route = request.match_info.route.resource
    return route.canonical if route is not None else "unmatched"
