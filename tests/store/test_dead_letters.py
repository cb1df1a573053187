"""Dead webhook deliveries (issue 13, item 7): kept for a while and up to a
number per site, listed a page at a time, and requeued in bulk. Each
delivery is made to die for real: a local receiver answers 500 and a
delivery gets one attempt; the test drives the delivery round itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from service.http.state import SERVICES
from tests.helpers import Client, bearer, expect_problem, keys_of, local_server, site
from tests.moderation.helpers import submit

DEAD = "/v1/sites/news/moderation/webhooks/dead"
SECRET = "s" * 32


@pytest.fixture
async def dead_end() -> AsyncIterator[str]:
    """A webhook receiver that always fails."""

    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=500)

    async with local_server("/hook", refuse) as server:
        yield str(server.make_url("/hook"))


@pytest.fixture
def make(
    make_client: Callable[..., Awaitable[Client]], dead_end: str
) -> Callable[..., Awaitable[Client]]:
    async def build(**webhooks: Any) -> Client:
        hook = {"name": "cms", "url": dead_end, "secret": SECRET}
        return await make_client(
            deliver_webhooks=False,
            sites={"news": site(webhooks=[hook])},
            webhooks={"max_attempts": 1, **webhooks},
        )

    return build


async def die(client: Client, count: int) -> list[str]:
    """`count` comments whose one delivery each goes dead; their delivery ids."""
    await submit(client, count)
    keys = keys_of(client)
    async with aiohttp.ClientSession() as session:
        while await client.app[SERVICES].outbox.deliver_due(session, "news"):
            pass
    return sorted(
        m.decode() for m in await client.app[SERVICES].redis.zrange(keys.outbox_dead, 0, -1)
    )


async def listed(client: Client, admin: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(DEAD, headers=admin, params=params)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_dead_deliveries_are_capped_per_site(make, rds: aioredis.Redis) -> None:
    client = await make(dead_max=3)
    admin = await bearer(client)
    await die(client, 5)
    keys = keys_of(client)
    kept = [m.decode() for m in await rds.zrange(keys.outbox_dead, 0, -1)]
    assert len(kept) == 3
    # Dropped whole: nothing of the two oldest is left in the outbox.
    assert sorted(k.decode() for k in await rds.hkeys(keys.outbox)) == sorted(kept)
    page = await listed(client, admin)
    assert page["total"] == 3
    assert sorted(d["id"] for d in page["deliveries"]) == sorted(kept)


async def test_dead_deliveries_expire(make, rds: aioredis.Redis) -> None:
    client = await make(dead_keep_seconds=60)
    admin = await bearer(client)
    old, young = await die(client, 2)
    keys = keys_of(client)
    # As if `old` had died two minutes ago.
    died = await rds.zscore(keys.outbox_dead, old)
    assert died is not None
    await rds.zadd(keys.outbox_dead, {old: died - 120_000})
    page = await listed(client, admin)
    assert [d["id"] for d in page["deliveries"]] == [young]
    assert page["total"] == 1
    # The next death drops it from Redis too.
    [newest] = set(await die(client, 1)) - {old, young}
    assert await rds.zscore(keys.outbox_dead, old) is None
    assert not await rds.hexists(keys.outbox, old)
    assert {d["id"] for d in (await listed(client, admin))["deliveries"]} == {young, newest}


async def test_the_dead_are_listed_newest_first_a_page_at_a_time(make, rds: aioredis.Redis) -> None:
    client = await make()
    admin = await bearer(client)
    ids = await die(client, 7)
    keys = keys_of(client)
    # All at one millisecond: the cursor must still neither skip nor repeat.
    await rds.zadd(keys.outbox_dead, dict.fromkeys(ids, 1_800_000_000_000))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await listed(client, admin, limit=3, **({"before": cursor} if cursor else {}))
        seen += [d["id"] for d in page["deliveries"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(ids, reverse=True)
    letter = (await listed(client, admin, limit=1))["deliveries"][0]
    assert letter["died_at"] == "2027-01-15T08:00:00.000Z"
    assert letter["last_error"] == "HTTP 500"
    assert letter["comment"] is not None and len(letter["comment"]) == 26
    for bad in ({"before": "x"}, {"before": "12.a b"}, {"limit": 0}, {"limit": 101}):
        response = await client.get(DEAD, headers=admin, params=bad)
        await expect_problem(response, 422, "validation-failed")


async def test_dead_deliveries_are_requeued_in_bulk(make, rds: aioredis.Redis) -> None:
    client = await make()
    admin = await bearer(client)
    a, b, c, d = await die(client, 4)
    keys = keys_of(client)
    before = orjson.loads(await rds.hget(keys.outbox, a))
    requeues = f"{DEAD}/requeues"

    moderator = await bearer(client, "moderator")
    refused = await client.post(requeues, headers=moderator, json={"all": True})
    await expect_problem(refused, 403, "forbidden")
    for body in ({}, {"ids": []}, {"ids": [a], "all": True}, {"all": False}, {"ids": "x"}):
        response = await client.post(requeues, headers=admin, json=body)
        await expect_problem(response, 422, "validation-failed")

    response = await client.post(requeues, headers=admin, json={"ids": [a, b, "cms:nope", a]})
    assert response.status == 200, await response.text()
    assert await response.json() == {"requeued": [a, b], "remaining": 2}
    after = orjson.loads(await rds.hget(keys.outbox, a))
    assert after == {**before, "attempts": 0}
    response = await client.post(requeues, headers=admin, json={"all": True})
    rest = await response.json()
    assert (sorted(rest["requeued"]), rest["remaining"]) == ([c, d], 0)
    assert (await listed(client, admin))["deliveries"] == []
    due = sorted(m.decode() for m in await rds.zrange(keys.outbox_due, 0, -1))
    assert due == [a, b, c, d]
    missing = await client.post(f"{DEAD}/{a}/retry", headers=admin)
    await expect_problem(missing, 404, "unknown-delivery")
