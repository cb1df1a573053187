"""Static assets served by the service (the widget, the dashboard, the pages'
styles): read once from the package, served with an ETag, a short cache
lifetime and a gzipped copy for clients that take one."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from aiohttp import web

# Browsers revalidate after this long; the ETag makes that a 304.
MAX_AGE = 300
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
# Licence files have no extension.
PLAIN = "text/plain; charset=utf-8"
# The files that may be served, by URL name: nothing else in the folder is.
NAMES = ("loibinh.js", "loibinh.css", "moderate.js", "moderate.css", "pages.css")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    content_type: str


@cache
def asset(name: str) -> Asset:
    return make(name, resources.files("service.http").joinpath("static", name).read_bytes())


def make(name: str, body: bytes) -> Asset:
    """A file as served: its type from its name, its ETag from its bytes."""
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    dot = name.rfind(".")
    content_type = TYPES.get(name[dot:], PLAIN) if dot > 0 else PLAIN
    # mtime=0: the same bytes, so the same ETag, on every replica.
    return Asset(body, gzip.compress(body, 9, mtime=0), f'"{digest}"', content_type)


def text(name: str) -> str:
    return asset(name).body.decode()


def respond(
    request: web.Request, item: Asset, headers: dict[str, str] | None = None
) -> web.Response:
    """The asset, or 304 when the client holds this version."""
    out = {
        "ETag": item.etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        **(headers or {}),
    }
    candidates = [c.strip() for c in request.headers.get("If-None-Match", "").split(",")]
    if item.etag in candidates or f"W/{item.etag}" in candidates:
        return web.Response(status=304, headers=out)
    body = item.body
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        body = item.gzipped
        out["Content-Encoding"] = "gzip"
    response = web.Response(body=body, headers=out)
    response.headers["Content-Type"] = item.content_type
    return response
