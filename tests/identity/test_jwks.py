"""The JWKS cache on its own, with a clock the test moves: max age, the
background refresh of a stale set, the refetch floor for unknown key ids,
and keys kept through a failed fetch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from service.errors import IdentityUnavailable, InvalidToken
from service.identity.jwks import JwksCache, max_age_of
from service.settings import SiteIdentity
from tests.helpers import eventually
from tests.identity import login as lg
from tests.identity.login import Login, running_login


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def login() -> AsyncIterator[Login]:
    async with running_login() as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def identity(login: Login, **overrides: Any) -> SiteIdentity:
    return SiteIdentity(**login.identity(**overrides))


async def test_a_stale_set_is_used_while_it_is_fetched_again(
    login: Login, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    cache = JwksCache(session, clock)
    site = identity(login, jwks_max_age_seconds=60)
    await cache.key(site, "rsa-1")
    clock.now += 30
    await cache.key(site, "ec-1")
    assert login.fetches == 1  # fresh: no fetch
    clock.now += 31
    await cache.key(site, "rsa-1")  # stale: answered from the cache at once...
    await eventually(lambda: login.fetches, "the background refresh", until=lambda n: n == 2)
    await cache.close()


async def test_a_shorter_cache_control_max_age_wins(
    login: Login, session: aiohttp.ClientSession
) -> None:
    assert max_age_of("public, max-age=30", 3600) == 30
    assert max_age_of("no-cache", 3600) == 3600
    assert max_age_of("max-age=7200", 3600) == 3600
    clock = Clock()
    cache = JwksCache(session, clock)
    login.cache_control = "public, max-age=20"
    site = identity(login, jwks_max_age_seconds=3600, jwks_min_refetch_seconds=5)
    await cache.key(site, "rsa-1")
    clock.now += 21
    await cache.key(site, "rsa-1")
    await eventually(lambda: login.fetches, "the refresh after max-age", until=lambda n: n == 2)
    await cache.close()


async def test_unknown_key_ids_refetch_at_most_once_per_floor(
    login: Login, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    cache = JwksCache(session, clock)
    site = identity(login, jwks_min_refetch_seconds=60)
    await cache.key(site, "rsa-1")
    clock.now += 61
    for kid in ("forged-1", "forged-2", "forged-3"):
        with pytest.raises(InvalidToken) as refused:
            await cache.key(site, kid)
        assert refused.value.reason == "unknown-key"
    assert login.fetches == 2  # one refetch for the first unknown kid, none after
    login.published["rsa-2"] = lg.rsa_key()
    clock.now += 30
    with pytest.raises(InvalidToken):
        await cache.key(site, "rsa-2")  # within the floor: not fetched yet
    clock.now += 31
    assert (await cache.key(site, "rsa-2")).key_type == "RSA"
    assert login.fetches == 3


async def test_keys_in_hand_survive_a_failed_fetch(
    login: Login, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    cache = JwksCache(session, clock)
    site = identity(login, jwks_max_age_seconds=60, jwks_min_refetch_seconds=10)
    await cache.key(site, "rsa-1")
    login.status = 503
    clock.now += 61
    await cache.key(site, "rsa-1")
    await eventually(lambda: login.fetches, "the failed refresh", until=lambda n: n == 2)
    assert (await cache.key(site, "ec-1")).key_type == "EC"


async def test_a_cold_cache_that_cannot_fetch_is_unavailable(
    login: Login, session: aiohttp.ClientSession
) -> None:
    login.status = 404
    cache = JwksCache(session, Clock())
    with pytest.raises(IdentityUnavailable):
        await cache.key(identity(login), "rsa-1")


@pytest.mark.parametrize(
    "document",
    ['{"keys": []}', '{"no": "keys"}', "[]", '{"keys": [{"kty": "oct-ish"}]}', "not json"],
)
async def test_a_document_that_is_no_key_set_is_unavailable(
    login: Login, session: aiohttp.ClientSession, document: str
) -> None:
    login.raw = document
    cache = JwksCache(session, Clock())
    with pytest.raises(IdentityUnavailable):
        await cache.key(identity(login), "rsa-1")
