"""What the route table says of one route, shared by the table that
registers it and the OpenAPI document generated from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    form: bool = False
    query: type[BaseModel] | None = None
    # status -> response model (None: no JSON body), problem types otherwise
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    problems: tuple[int, ...] = ()
    rate_limited: bool = False
    # The API key role the route needs; None for public routes.
    role: str | None = None
    # A file taken whole as the body (not JSON), and what it is.
    upload: str | None = None


def public_paths(endpoints: Sequence[Endpoint]) -> list[str]:
    """The public routes' paths: the ones pages may call from other origins."""
    return sorted({e.path for e in endpoints if e.tag == "public"})
