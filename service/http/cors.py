"""CORS for the public API: a page may call it from the browser only from one
of its site's `allowed_origins`. Answers to other origins carry no CORS
header, so the browser keeps them from the page; the moderation API is never
opened to other origins (the dashboard is served by the service itself)."""

from __future__ import annotations

from aiohttp import web

from service.errors import UnknownSite
from service.http.state import SETTINGS

ALLOW_METHODS = "GET, POST"
# Authorization carries a signed-in reader's token (http/identity.py).
ALLOW_HEADERS = "Content-Type, Idempotency-Key, Authorization"
# What a widget may read of an answer, beyond the CORS-safelisted headers.
EXPOSE_HEADERS = "RateLimit, RateLimit-Policy, Retry-After, X-Request-Id, ETag, Location"
PREFLIGHT_MAX_AGE = "600"
PUBLIC_PREFIX = "/v1/sites/"


def allowed_origin(request: web.Request) -> str | None:
    """The request's Origin, if it may read this answer."""
    origin = request.headers.get("Origin")
    if origin is None or not request.path.startswith(PUBLIC_PREFIX):
        return None
    site_id = request.match_info.get("site")
    site = request.app[SETTINGS].sites.get(site_id or "")
    if site is None or "/moderation" in request.path:
        return None
    return origin if origin.lower() in site.allowed_origins else None


def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.headers.get("Origin") is None or not request.path.startswith(PUBLIC_PREFIX):
        return
    response.headers.add("Vary", "Origin")  # the answer differs by Origin
    origin = allowed_origin(request)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS


async def preflight(request: web.Request) -> web.Response:
    """OPTIONS on a public route: what a cross-origin call may send."""
    site_id = request.match_info["site"]
    if site_id not in request.app[SETTINGS].sites:
        raise UnknownSite(f"no site {site_id!r} is configured")
    headers = {}
    if allowed_origin(request) is not None:
        headers = {
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        }
    return web.Response(status=204, headers=headers)
