"""Who may call the moderation API: a bearer API key that covers the site
and has the role the route needs."""

from __future__ import annotations

from aiohttp import web

from service.errors import Forbidden, Unauthorized, UnknownSite
from service.http.state import SERVICES, SETTINGS
from service.moderation.apikeys import Role
from service.moderation.shared import Actor


async def require(request: web.Request, role: Role) -> Actor:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <api key>")
    key = await request.app[SERVICES].api_keys.authenticate(token.strip())
    if key is None:
        raise Unauthorized("the API key is unknown or revoked")
    site_id = request.match_info["site"]
    if not key.covers(site_id):
        raise Forbidden(f"this key does not cover site {site_id!r}")
    if not key.at_least(role):
        raise Forbidden(f"this action needs the {role} role; the key has {key.role}")
    if site_id not in request.app[SETTINGS].sites:
        raise UnknownSite(f"no site {site_id!r} is configured")
    return Actor.of(key)
