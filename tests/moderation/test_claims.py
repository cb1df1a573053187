"""Exclusive claims on the moderation queue and their leases: never an item
handed out twice, an expired lease gives the item back, and only the lease
holder or an admin decides a leased item."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from tests.helpers import Client, expect_problem, keys_of, new_key, queue_ids, redis_now_ms
from tests.moderation.helpers import claim, decide, pending_items, public_read, submit, url


async def test_fifty_concurrent_claims_never_hand_out_an_item_twice(client: Client) -> None:
    pending = set(await submit(client, 60))
    moderators = [await new_key(client, name=f"moderator {n}") for n in range(5)]
    claims = await asyncio.gather(
        *(claim(client, moderators[n % 5], limit=2, lease_seconds=300) for n in range(50))
    )
    handed: list[str] = []
    holder: dict[str, str] = {}
    for n, claimed in enumerate(claims):
        assert len(claimed["items"]) <= 2
        for item in claimed["items"]:
            handed.append(item["id"])
            holder[item["id"]] = moderators[n % 5].id
            assert item["status"] == "pending"
    assert len(handed) == len(set(handed)), "an item was handed out twice"
    assert set(handed) == pending
    # Everything is leased: nothing is left to claim.
    late = await new_key(client, name="late moderator")
    assert (await claim(client, late, limit=100))["items"] == []
    # The queue shows each lease with its holder.
    for item in await pending_items(client, late):
        assert item["lease"] is not None
        assert item["lease"]["key_id"] == holder[item["id"]]


async def test_an_expired_lease_returns_the_item(client: Client, rds: aioredis.Redis) -> None:
    first, second = await new_key(client), await new_key(client)
    ids = await submit(client, 3)
    claimed = await claim(client, first, limit=10, lease_seconds=10)
    assert sorted(i["id"] for i in claimed["items"]) == sorted(ids)
    assert (await claim(client, second))["items"] == []
    expired = sorted(ids)[1]
    await rds.zadd(keys_of(client).leases, {expired: await redis_now_ms(rds) - 1000})
    again = await claim(client, second, limit=10)
    assert [i["id"] for i in again["items"]] == [expired]
    assert again["items"][0]["lease"]["key_id"] == second.id
    # The lease moved: the first moderator no longer holds it.
    [result] = await decide(client, first, (expired, "approve"))
    assert (result["status"], result["outcome"]) == (409, "leased")
    [result] = await decide(client, second, (expired, "approve"))
    assert (result["status"], result["outcome"]) == (200, "approved")


async def test_only_the_lease_holder_or_an_admin_decides_a_leased_item(client: Client) -> None:
    holder, other = await new_key(client), await new_key(client)
    admin = await new_key(client, "admin")
    one, two, free = sorted(await submit(client, 3))
    claimed = await claim(client, holder, limit=2)
    assert sorted(i["id"] for i in claimed["items"]) == [one, two]

    results = await decide(client, other, (one, "approve"), (free, "reject"))
    assert [(r["id"], r["status"], r["outcome"]) for r in results] == [
        (one, 409, "leased"),
        (free, 200, "rejected"),
    ]
    assert await queue_ids(client, admin.headers, "pending") == [one, two]
    assert (await public_read(client))[0] == []

    [result] = await decide(client, holder, (one, "approve"))
    assert (result["status"], result["outcome"]) == (200, "approved")
    [result] = await decide(client, admin, (two, "spam"))
    assert (result["status"], result["outcome"]) == (200, "spam")
    assert await queue_ids(client, admin.headers, "approved") == [one]
    assert await queue_ids(client, admin.headers, "spam") == [two]
    assert await queue_ids(client, admin.headers, "pending") == []
    # A decided item leaves the lease book: a new claim finds nothing.
    assert (await claim(client, other))["items"] == []


async def test_claims_bad_bodies(client: Client) -> None:
    moderator = await new_key(client)
    for body in ({"lease_seconds": 5}, {"limit": 0}, {"limit": 101}, {"state": "approved"}):
        response = await client.post(url("/claims"), headers=moderator.headers, json=body)
        await expect_problem(response, 422, "validation-failed")
    response = await client.post(
        url("/claims"), headers={**moderator.headers, "Content-Type": "text/plain"}, data="{}"
    )
    await expect_problem(response, 415, "unsupported-media-type")
