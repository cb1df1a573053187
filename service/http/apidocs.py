"""The API reference at /docs: the service's own /openapi.json rendered by a
vendored copy of Swagger UI (swagger-ui-dist, Apache-2.0: its LICENSE and
NOTICE ship beside it in static/apidocs/ and are served too). Nothing comes
from a CDN: the page works offline and its policy allows only this origin."""

from __future__ import annotations

import asyncio
from importlib import resources

from aiohttp import web

from service.http import assets

# The files of static/apidocs/ that are served, and nothing else.
FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "init.js",
    "LICENSE",
    "NOTICE",
    "swagger-ui-bundle.js.LICENSE.txt",
)
VERSION = "swagger-ui-dist 5.35.0"
# Swagger UI sets inline styles on its elements, so styles may be inline;
# scripts may come only from here, and only here may be fetched.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
PAGE = (
    '<!doctype html><html lang="en"><head><meta charset=utf-8>'
    '<meta name=viewport content="width=device-width, initial-scale=1">'
    '<link rel=icon href="data:,"><title>loibinh · API reference</title>'
    '<link rel=stylesheet href="/docs/swagger-ui.css">'
    '<script src="/docs/swagger-ui-bundle.js" defer></script>'
    '<script src="/docs/init.js" defer></script></head>'
    "<body><main id=reference><noscript><p>The API reference needs JavaScript; the "
    'document itself is at <a href="/openapi.json">/openapi.json</a>.</p></noscript>'
    "</main></body></html>"
)


# Each file as served, made once per process. The viewer's bundle is 1.7 MB,
# which gzip takes about half a second to compress: that is done in a thread,
# never on the event loop.
_LOADED: dict[str, assets.Asset] = {}


def _load(name: str) -> assets.Asset:
    body = resources.files("service.http").joinpath("static", "apidocs", name).read_bytes()
    return assets.make(name, body)


async def _asset(name: str) -> assets.Asset:
    if name not in _LOADED:
        # Two first requests at once may both make it: the same bytes, harmless.
        _LOADED[name] = await asyncio.to_thread(_load, name)
    return _LOADED[name]


async def page(request: web.Request) -> web.Response:
    """The reference page: a shell that loads the viewer, which reads /openapi.json."""
    headers = {
        "Content-Security-Policy": POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": f"public, max-age={assets.MAX_AGE}",
    }
    return web.Response(text=PAGE, content_type="text/html", headers=headers)


async def file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in FILES:
        raise web.HTTPNotFound()
    return assets.respond(request, await _asset(name))
