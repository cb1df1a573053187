"""The edge of every request: a request id, metrics, and the one place where
errors become answers. Anything unexpected becomes a logged 500 that names the
request id, never a traceback sent to the client."""

from __future__ import annotations

import logging
import re
import secrets
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from service import errors, problems
from service.appkeys import METRICS, RATE_METER, REQUEST_ID, SETTINGS

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


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
    request_id = supplied if _REQUEST_ID.match(supplied) else secrets.token_hex(8)
    request[REQUEST_ID] = request_id
    settings = request.app[SETTINGS]
    response: web.StreamResponse
    try:
        response = await handler(request)
    except errors.LoibinhError as exc:
        response = problems.from_error(exc, settings.retry_after_seconds)
    except web.HTTPException as exc:
        mapped = _from_http(exc)
        if mapped is None:
            raise
        response = problems.from_error(mapped, settings.retry_after_seconds)
    except Exception:
        log.exception(
            "unexpected error answering %s %s [%s]", request.method, request.path, request_id
        )
        response = problems.response(
            "internal", "an unexpected error occurred", extra={"request_id": request_id}
        )
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    metrics = request.app[METRICS]
    metrics.requests.labels(name, request.method, str(response.status)).inc()
    metrics.latency.labels(name).observe(time.perf_counter() - started)
    return response


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: headers every answer gets, errors included."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers["X-Request-Id"] = request_id
    meter = request.get(RATE_METER)
    if meter is not None:
        response.headers.update(meter.headers())
