"""Who may call the moderation API: a bearer API key that covers the site
and has the role the route needs.

The route table names each route's role; add_routes registers such a route's
handler behind `guarded`, so the key is checked once, before any handler
runs, and the handler finds who acts in request[ACTOR]."""

from __future__ import annotations

import functools

from aiohttp import web

from service.errors import Forbidden, Unauthorized, UnknownSite
from service.http.endpoint import Handler
from service.http.request import signin_client
from service.http.state import ACTOR, SERVICES, SETTINGS
from service.moderation.apikeys import ROLES, Role
from service.moderation.shared import Actor


def guarded(handler: Handler, role: str) -> Handler:
    """`handler`, answering only a key with `role` (or a higher one) for the
    route's site; it finds the key's Actor in request[ACTOR]."""
    needed = _role(role)

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        request[ACTOR] = await _require(request, needed)
        return await handler(request)

    return checked


def _role(name: str) -> Role:
    """A role the route table names, or an error as the app is built."""
    for role in ROLES:
        if role == name:
            return role
    raise ValueError(f"no role {name!r}; the roles are {', '.join(ROLES)}")


async def _require(request: web.Request, role: Role) -> Actor:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <api key>")
    services = request.app[SERVICES]
    client = signin_client(request)
    await services.signins.check(client)
    key = await services.api_keys.authenticate(token.strip())
    if key is None:
        await services.signins.failed(client)
        raise Unauthorized("the API key is unknown or revoked")
    site_id = request.match_info["site"]
    if not key.covers(site_id):
        raise Forbidden(f"this key does not cover site {site_id!r}")
    if not key.at_least(role):
        raise Forbidden(f"this action needs the {role} role; the key has {key.role}")
    if site_id not in request.app[SETTINGS].sites:
        raise UnknownSite(f"no site {site_id!r} is configured")
    return Actor.of(key)
