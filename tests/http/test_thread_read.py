"""The public read of a thread answered from the worker's copy
(`public_revalidate_seconds`, service/store/readcache.py): without Redis
while the copy lives, the worker's own changes shown at once, another
worker's within the lifetime, never a copy of a refused request, and
nothing kept when it is off."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from service.http.state import SERVICES
from tests.helpers import (
    THREAD,
    Client,
    approve,
    bearer,
    expect_problem,
    keys_of,
    new_key,
    rate_limits,
    site,
    submit_ok,
)
from tests.migration.helpers import SAMPLES, import_file

READ = f"/v1/sites/news/threads/{THREAD}/comments"
# A lifetime no test outlasts: a copy seen here is the copy, not a new read.
LONG = {"public_cache_seconds": 60, "public_revalidate_seconds": 60}

MakeClient = Callable[..., Awaitable[Client]]


async def read(client: Client, path: str = READ, etag: str | None = None) -> tuple[int, str, Any]:
    """Status, ETag and the ids shown (None for a 304)."""
    headers = {"If-None-Match": etag} if etag else {}
    response = await client.get(path, headers=headers)
    assert response.status in (200, 304), await response.text()
    if response.status == 304:
        return 304, response.headers["ETag"], None
    ids = [c["id"] for c in (await response.json())["comments"]]
    return 200, response.headers["ETag"], ids


async def published(client: Client) -> str:
    comment_id = await submit_ok(client)
    assert await approve(client, comment_id)
    return comment_id


async def empty_the_thread(client: Client, rds: aioredis.Redis) -> None:
    """Redis holds an empty thread from now on: an answer that still shows
    the comment came from the worker's copy."""
    keys = keys_of(client)
    await rds.delete(keys.thread(THREAD), keys.thread_public(THREAD))


async def test_a_kept_answer_is_given_without_redis(make_client: MakeClient, rds) -> None:
    client = await make_client(**LONG)
    comment = await published(client)
    status, etag, ids = await read(client)
    assert (status, ids) == (200, [comment])
    await empty_the_thread(client, rds)

    assert await read(client, etag=etag) == (304, etag, None)
    assert await read(client) == (200, etag, [comment])
    # Not a conditional answer kept for another request: an ETag that does
    # not match gets the kept body.
    assert await read(client, etag='"other"') == (200, etag, [comment])
    # Another query is another answer, read from Redis.
    status, _, ids = await read(client, READ + "?order=newest")
    assert (status, ids) == (200, [])


async def test_a_revalidation_keeps_the_etag_alone(make_client: MakeClient, rds) -> None:
    first, second = await make_client(**LONG), await make_client(**LONG)
    comment = await published(first)
    _, etag, _ = await read(first)
    # The second worker has read nothing yet: its first revalidation asks Redis.
    assert await read(second, etag=etag) == (304, etag, None)
    await empty_the_thread(second, rds)
    assert await read(second, etag=etag) == (304, etag, None)
    # It kept no body: a 200 reads Redis.
    status, _, ids = await read(second)
    assert (status, ids) == (200, [])
    assert comment


async def test_a_decision_through_this_worker_shows_at_once(make_client: MakeClient) -> None:
    client = await make_client(**LONG)
    moderator = await bearer(client, "moderator")
    comment = await submit_ok(client)
    _, before, ids = await read(client)
    assert ids == []
    response = await client.post(
        "/v1/sites/news/moderation/decisions",
        json={"decisions": [{"id": comment, "action": "approve", "reason": ""}]},
        headers=moderator,
    )
    assert response.status == 200, await response.text()
    status, after, ids = await read(client, etag=before)
    assert (status, ids) == (200, [comment])
    assert after != before
    # And taken down again, through the same worker.
    await read(client)
    admin = await bearer(client, "admin")
    response = await client.post(
        "/v1/sites/news/moderation/decisions",
        json={"decisions": [{"id": comment, "action": "reject_author", "reason": ""}]},
        headers=admin,
    )
    assert response.status == 200, await response.text()
    assert (await read(client))[2] == []


async def test_an_erasure_through_this_worker_shows_at_once(make_client: MakeClient) -> None:
    client = await make_client(**LONG)
    comment = await published(client)
    assert (await read(client))[2] == [comment]
    admin = await bearer(client, "admin")
    response = await client.post(
        "/v1/sites/news/moderation/erasures", json={"email": "duong@example.vn"}, headers=admin
    )
    assert response.status == 200, await response.text()
    assert (await read(client))[2] == []


async def test_a_report_that_hides_shows_at_once(make_client: MakeClient) -> None:
    limits = rate_limits(report_per_ip=(1000, 3600))
    news = site(rate_limits=limits, reports_threshold=1, hide_reported=True)
    client = await make_client(sites={"news": news}, **LONG)
    comment = await published(client)
    assert (await read(client))[2] == [comment]
    response = await client.post(f"/v1/sites/news/comments/{comment}/reports", json={})
    assert response.status == 202, await response.text()
    assert (await read(client))[2] == []


async def test_a_comment_published_at_submission_shows_at_once(make_client: MakeClient) -> None:
    """The widget reloads the thread after a 202 `approved` to show it."""
    client = await make_client(sites={"news": site(moderation="post")}, **LONG)
    assert (await read(client))[2] == []
    comment = await submit_ok(client, status="approved")
    assert (await read(client))[2] == [comment]


async def test_an_import_through_this_worker_shows_at_once(make_client: MakeClient) -> None:
    client = await make_client(**LONG)
    assert (await read(client))[2] == []
    admin = await new_key(client, "admin")
    await import_file(client, admin, "disqus", (SAMPLES / "disqus.xml").read_bytes())
    assert (await read(client))[2] != []


async def test_another_workers_change_shows_within_the_lifetime(make_client: MakeClient) -> None:
    kept, short, other = (
        await make_client(**LONG),
        await make_client(public_revalidate_seconds=0.2),
        await make_client(),
    )
    comment = await submit_ok(other)
    assert (await read(kept))[2] == []
    assert (await read(short))[2] == []
    assert await approve(other, comment)
    # The copy stays for its lifetime: a worker knows nothing of another's change...
    assert (await read(kept))[2] == []
    # ...and no longer: once it is past, the worker reads Redis again.
    await asyncio.sleep(0.3)
    assert (await read(short))[2] == [comment]


@pytest.mark.parametrize(
    "overrides",
    [
        {"public_revalidate_seconds": 0},
        # Never longer than a CDN may keep the answer: with no max-age, no copy.
        {"public_cache_seconds": 0, "public_revalidate_seconds": 5},
    ],
)
async def test_no_copy_when_it_is_off(
    make_client: MakeClient, rds, overrides: dict[str, Any]
) -> None:
    client = await make_client(**overrides)
    comment = await published(client)
    _, etag, ids = await read(client)
    assert ids == [comment]
    await empty_the_thread(client, rds)
    status, _, ids = await read(client, etag=etag)
    assert (status, ids) == (200, [])
    assert len(client.app[SERVICES].read_cache) == 0


@pytest.mark.parametrize(
    "path",
    [
        READ + "?limit=0",
        READ + "?limit=many",
        READ + "?after=not-an-id",
        READ + "?order=sideways",
        "/v1/sites/news/threads/not%20a%20thread/comments",
    ],
)
async def test_a_refused_request_is_never_kept(make_client: MakeClient, path: str) -> None:
    client = await make_client(**LONG)
    await published(client)
    await read(client)  # the valid target is kept
    for _ in range(2):
        await expect_problem(await client.get(path), 422, "validation-failed")
    assert len(client.app[SERVICES].read_cache) == 1
