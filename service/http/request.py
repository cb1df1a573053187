"""What every view reads of a request the same way: its site, its client,
and how a JSON answer is written."""

from __future__ import annotations

import orjson
from aiohttp import web

from service.errors import UnknownSite
from service.http import clientip
from service.http.state import KEYRING, SETTINGS
from service.settings import Site
from service.submission.accept import Client


def json_response(
    data: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def site_of(request: web.Request) -> tuple[str, Site]:
    site_id = request.match_info["site"]
    site = request.app[SETTINGS].sites.get(site_id)
    if site is None:
        raise UnknownSite(f"no site {site_id!r} is configured")
    return site_id, site


def client_of(request: web.Request, site_id: str) -> Client:
    """The client's address as rate limits and keyed hashes see it (IPv4
    exactly, IPv6 by its network prefix), hashed for the site, and as a
    captcha provider is told it (the address itself, or None)."""
    bucket, remote = _client_address(request)
    return Client(request.app[KEYRING].ip_hash(site_id, bucket), remote)


# The keyed hashes of addresses are per site; sign-ins are counted across
# sites (a key covers several), under a scope of their own.
SIGN_IN_SCOPE = "(sign-in)"


def signin_client(request: web.Request) -> str:
    """The client's address as failed sign-ins are counted (keyed hash)."""
    bucket, _ = _client_address(request)
    return request.app[KEYRING].ip_hash(SIGN_IN_SCOPE, bucket)


def _client_address(request: web.Request) -> tuple[str, str | None]:
    """The address's bucket (clientip.bucket), and the address itself."""
    network = request.app[SETTINGS].network
    peer = request.remote
    if not network.trusted_proxies and peer and ":" not in peer:
        # An IPv4 peer and no proxy to believe: nothing to work out.
        return peer, peer
    address = clientip.resolve(
        peer,
        request.headers.get("Forwarded"),
        request.headers.get("X-Forwarded-For"),
        network.trusted_proxies,
    )
    remote = str(address) if address is not None else None
    return clientip.bucket(address, network.ipv6_prefix), remote
