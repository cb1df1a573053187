"""Moderator and admin API keys (issue 3, item 1): the store, what Redis
holds of a key (never the key), last-used times, and `loibinh keys
create|list|revoke` run as the operator runs it."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from service.http.state import SERVICES
from service.moderation.apikeys import ApiKeyStore
from tests.helpers import Client, authorization, redis_values, site

QUEUE = "/v1/sites/news/moderation/queue"
TOKEN = re.compile(r"lbk_[0-9a-f]{12}_\S+")


def store_of(client: Client) -> ApiKeyStore:
    return client.app[SERVICES].api_keys


# ------------------------------------------------------------------ the store


async def test_create_list_revoke(client: Client) -> None:
    store = store_of(client)
    before = int(time.time() * 1000)
    token, moderator = await store.create("Mod Minh", "moderator", ["news"])
    _, admin = await store.create("Admin An", "admin", ["*"])
    after = int(time.time() * 1000)
    assert TOKEN.fullmatch(token)
    assert token.startswith(f"lbk_{moderator.id}_")
    assert moderator.id != admin.id
    listed = {k.id: k for k in await store.list()}
    assert set(listed) == {moderator.id, admin.id}
    mine = listed[moderator.id]
    assert (mine.name, mine.role, mine.sites) == ("Mod Minh", "moderator", ("news",))
    assert before <= mine.created_at_ms <= after
    assert mine.last_used_at_ms is None
    assert (listed[admin.id].role, listed[admin.id].sites) == ("admin", ("*",))
    authenticated = await store.authenticate(token)
    assert authenticated is not None
    assert authenticated.id == moderator.id

    assert await store.revoke(moderator.id) is True
    assert [k.id for k in await store.list()] == [admin.id]
    assert await store.authenticate(token) is None
    assert await store.revoke(moderator.id) is False


async def test_each_key_has_its_own_secret(client: Client) -> None:
    store = store_of(client)
    first, _ = await store.create("A", "moderator", ["news"])
    second, _ = await store.create("A", "moderator", ["news"])
    assert first[17:] != second[17:]
    # One key's secret does not open another key.
    assert await store.authenticate(first[:17] + second[17:]) is None


async def test_a_revoked_key_is_refused(client: Client) -> None:
    token, record = await store_of(client).create("Mod Minh", "moderator", ["news"])
    assert (await client.get(QUEUE, headers=authorization(token))).status == 200
    # The scheme is case-insensitive (RFC 9110).
    lower = await client.get(QUEUE, headers={"Authorization": f"bearer {token}"})
    assert lower.status == 200
    assert await store_of(client).revoke(record.id)
    response = await client.get(QUEUE, headers=authorization(token))
    assert response.status == 401
    problem = await response.json()
    assert problem["type"] == "/problems/unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_redis_holds_no_copy_of_the_key(client: Client, rds: aioredis.Redis) -> None:
    token, record = await store_of(client).create("Mod Minh", "admin", ["*"])
    secret = token.removeprefix(f"lbk_{record.id}_")
    assert len(secret) >= 16
    # Used once, so that whatever is written on use is in Redis too.
    assert (await client.get(QUEUE, headers=authorization(token))).status == 200
    stored = await redis_values(rds)
    assert stored, "the key record is missing"
    assert any(record.id.encode() in item for item in stored)
    # Not the token, nor the secret, nor any 8 characters of it in a row.
    pieces = [secret[i : i + 8].encode() for i in range(len(secret) - 7)]
    for item in stored:
        assert token.encode() not in item
        assert not [piece for piece in pieces if piece in item], item
    # Nor an unkeyed digest that a stolen copy could be checked against offline.
    digests = {
        hashlib.sha256(value.encode()).hexdigest().encode()
        for value in (token, secret, f"{record.id}{secret}", f"{record.id}:{secret}")
    }
    assert not digests & set(stored)


async def test_last_used_at_is_set_after_use(client: Client) -> None:
    store = store_of(client)
    token, _ = await store.create("Mod Minh", "moderator", ["news"])
    [listed] = await store.list()
    assert listed.last_used_at_ms is None
    before = int(time.time() * 1000)
    assert (await client.get(QUEUE, headers=authorization(token))).status == 200
    after = int(time.time() * 1000)
    [listed] = await store.list()
    assert listed.last_used_at_ms is not None
    assert before - 5 <= listed.last_used_at_ms <= after + 5
    # A refused attempt with a wrong secret does not count as a use.
    _, other = await store.create("Other", "moderator", ["news"])
    wrong = f"lbk_{other.id}_{token[17:]}"
    assert (await client.get(QUEUE, headers=authorization(wrong))).status == 401
    assert {k.id: k.last_used_at_ms for k in await store.list()}[other.id] is None


# -------------------------------------------------------------- command line


@pytest.fixture
async def two_site_client(make_client: Callable[..., Awaitable[Client]]) -> Client:
    """The app as the CLI's configuration describes it: same secret, same Redis."""
    return await make_client(sites={"news": site(), "sport": site()})


async def created(cli: Callable[..., Awaitable[Any]], *args: str) -> tuple[str, str]:
    """Runs `keys create`; the token and the key id it printed."""
    done = await cli("keys", "create", *args)
    assert done.returncode == 0, done.stderr
    tokens = TOKEN.findall(done.stdout)
    assert len(tokens) == 1, done.stdout
    token = tokens[0]
    return token, token[4:16]


async def test_cli_created_keys_work_against_the_service(
    cli: Callable[..., Awaitable[Any]], two_site_client: Client
) -> None:
    client = two_site_client
    (token, _), (admin, _) = await asyncio.gather(
        created(cli, "--site", "news", "--role", "moderator", "--name", "Mod Minh"),
        created(cli, "--site", "*", "--role", "admin", "--name", "Admin An"),
    )
    assert (await client.get(QUEUE, headers=authorization(token))).status == 200
    # Its scope and role are what was asked for.
    other_site = await client.get("/v1/sites/sport/moderation/queue", headers=authorization(token))
    assert other_site.status == 403
    audit = await client.get("/v1/sites/news/moderation/audit", headers=authorization(token))
    assert audit.status == 403
    # A key for every site.
    for site_id in ("news", "sport"):
        response = await client.get(
            f"/v1/sites/{site_id}/moderation/audit", headers=authorization(admin)
        )
        assert response.status == 200, await response.text()


async def test_cli_list_shows_names_and_roles_never_the_key_and_revoke_ends_it(
    cli: Callable[..., Awaitable[Any]], two_site_client: Client
) -> None:
    client = two_site_client
    token, key_id = await created(
        cli, "--site", "news", "--site", "sport", "--role", "moderator", "--name", "Mod Minh"
    )
    listing = await cli("keys", "list")
    assert listing.returncode == 0, listing.stderr
    [line] = [line for line in listing.stdout.splitlines() if key_id in line]
    assert "Mod Minh" in line
    assert "moderator" in line
    assert "news" in line
    assert "sport" in line
    assert "never" in line  # not used yet
    output = listing.stdout + listing.stderr
    assert token not in output
    assert token[17:] not in output
    assert token[17:29] not in output

    assert (await client.get(QUEUE, headers=authorization(token))).status == 200
    revoked = await cli("keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    response = await client.get(QUEUE, headers=authorization(token))
    assert response.status == 401
    assert (await response.json())["type"] == "/problems/unauthorized"
    assert await store_of(client).list() == []


async def test_cli_create_for_an_unknown_site_exits_2(
    cli: Callable[..., Awaitable[Any]], rds: aioredis.Redis
) -> None:
    alone, among_known = await asyncio.gather(
        cli("keys", "create", "--site", "nowhere", "--role", "moderator", "--name", "X"),
        # One unknown site among known ones refuses the whole key.
        cli(
            "keys",
            "create",
            "--site",
            "news",
            "--site",
            "nowhere",
            "--role",
            "admin",
            "--name",
            "Y",
        ),
    )
    for done in (alone, among_known):
        assert done.returncode == 2, done.stdout + done.stderr
        assert "nowhere" in done.stderr
        assert not TOKEN.search(done.stdout)
    assert await redis_values(rds) == []
