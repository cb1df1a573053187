"""The login system's published keys (a JWKS), fetched over HTTP and cached.

A fresh set is used as it is. A set past its max age is still used while a
background task fetches it again, so the fetch stays off the request path;
only a cold cache (the first token after start, when the warm-up failed)
waits for it. A token naming a key id the set lacks fetches the set again
(keys rotate), at most once per `jwks_min_refetch_seconds`, so a stream of
forged key ids cannot turn loibinh against the login system.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWKError, PyJWTError

from service.errors import IdentityUnavailable, InvalidToken
from service.settings import SiteIdentity

log = logging.getLogger(__name__)

# A JWKS is a few kilobytes; more is not a key set.
MAX_JWKS_BYTES = 256 * 1024
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(slots=True)
class KeySet:
    """The keys of one JWKS URL by key id ("" for a key without one), and
    when to fetch them again."""

    keys: dict[str, PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None
    max_age: float = 0.0
    # When the last fetch began, successful or not: the refetch floor counts from it.
    tried_at: float | None = None
    refreshing: asyncio.Task[None] | None = None


def parse(raw: bytes) -> dict[str, PyJWK]:
    """The usable keys of a JWKS document; keys of a type loibinh does not
    use (or cannot read) are skipped, as RFC 7517 section 5 asks."""
    document = orjson.loads(raw)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set: no `keys` list")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        with contextlib.suppress(PyJWKError, PyJWTError, ValueError, TypeError, KeyError):
            keys[str(entry.get("kid", ""))] = PyJWK(entry)
    if not keys:
        raise ValueError("the JWK set holds no usable signing key")
    return keys


def max_age_of(cache_control: str | None, configured: int) -> float:
    """The set's lifetime: the site's max age, or the answer's shorter
    `Cache-Control: max-age`."""
    found = MAX_AGE.search(cache_control or "")
    return float(min(configured, int(found[1]))) if found else float(configured)


class JwksCache:
    def __init__(
        self, session: aiohttp.ClientSession, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._session = session
        self._clock = clock
        self._sets: dict[str, KeySet] = {}

    async def key(self, identity: SiteIdentity, kid: str) -> PyJWK:
        """The key a token names: raises InvalidToken for one the login system
        does not publish, IdentityUnavailable when no set can be had."""
        url = identity.jwks_url
        assert url is not None  # the settings require it for RS256 and ES256
        entry = self._sets.setdefault(url, KeySet())
        now = self._clock()
        if entry.fetched_at is None:
            await self._fetch_once(url, identity, entry)
            if entry.fetched_at is None:
                raise IdentityUnavailable("the site's login keys (JWKS) cannot be fetched")
        elif now - entry.fetched_at >= entry.max_age:
            self._refresh_later(url, identity, entry)
        found = entry.keys.get(kid)
        if found is None and self._may_refetch(entry, identity):
            await self._fetch_once(url, identity, entry)
            found = entry.keys.get(kid)
        if found is None:
            raise InvalidToken(
                f"the token's key id {kid!r} is not among the login system's keys", "unknown-key"
            )
        return found

    async def warm(self, identity: SiteIdentity) -> None:
        """Fetch a site's keys ahead of its first reader (at start-up)."""
        if identity.uses_jwks and identity.jwks_url is not None:
            entry = self._sets.setdefault(identity.jwks_url, KeySet())
            await self._fetch_once(identity.jwks_url, identity, entry)

    async def close(self) -> None:
        tasks = [e.refreshing for e in self._sets.values() if e.refreshing is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _may_refetch(self, entry: KeySet, identity: SiteIdentity) -> bool:
        return (
            entry.tried_at is None
            or self._clock() - entry.tried_at >= identity.jwks_min_refetch_seconds
        )

    def _refresh_later(self, url: str, identity: SiteIdentity, entry: KeySet) -> None:
        if entry.refreshing is None and self._may_refetch(entry, identity):
            entry.refreshing = asyncio.create_task(
                self._fetch_into(url, identity, entry), name="jwks-refresh"
            )

    async def _fetch_once(self, url: str, identity: SiteIdentity, entry: KeySet) -> None:
        """One fetch at a time per URL: concurrent callers wait for the one under way."""
        if entry.refreshing is None:
            entry.refreshing = asyncio.create_task(
                self._fetch_into(url, identity, entry), name="jwks-fetch"
            )
        await asyncio.shield(entry.refreshing)

    async def _fetch_into(self, url: str, identity: SiteIdentity, entry: KeySet) -> None:
        entry.tried_at = self._clock()
        try:
            keys, max_age = await self._fetch(url, identity)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # The keys in hand, if any, stay in use until the next try.
            log.warning("fetching the JWKS at %s failed: %s", url, exc)
        else:
            entry.keys, entry.max_age, entry.fetched_at = keys, max_age, self._clock()
        finally:
            entry.refreshing = None

    async def _fetch(self, url: str, identity: SiteIdentity) -> tuple[dict[str, PyJWK], float]:
        timeout = aiohttp.ClientTimeout(total=identity.jwks_timeout_seconds)
        async with self._session.get(url, timeout=timeout, allow_redirects=False) as response:
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            raw = await response.content.read(MAX_JWKS_BYTES + 1)
            if len(raw) > MAX_JWKS_BYTES:
                raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
            cache_control = response.headers.get("Cache-Control")
        try:
            keys = parse(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        return keys, max_age_of(cache_control, identity.jwks_max_age_seconds)
