"""For integrators (issue 14, item 6): the comment counts of many threads in
one call, and the widget's config, both cached by browsers and CDNs
(Cache-Control) and revalidated by ETag (304)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

from tests.helpers import Client, approve, expect_problem, site
from tests.moderation.helpers import submit

COUNTS = "/v1/sites/news/counts"


async def counts(client: Client, *threads: str, headers: dict[str, str] | None = None) -> Any:
    response = await client.get(COUNTS, params=[("thread", t) for t in threads], headers=headers)
    return response


async def test_counts_of_many_threads_in_one_call(client: Client) -> None:
    first = await submit(client, 2, thread="bai-mot")
    second = await submit(client, 1, thread="bai-hai")
    for comment_id in (*first, *second):
        assert await approve(client, comment_id)
    await submit(client, 1, thread="bai-hai")  # pending: not counted
    response = await counts(client, "bai-mot", "bai-hai", "bai-ba", "bai-mot")
    assert response.status == 200, await response.text()
    assert await response.json() == {"counts": {"bai-mot": 2, "bai-hai": 1, "bai-ba": 0}}
    assert response.headers["Cache-Control"] == "public, max-age=10"
    etag = response.headers["ETag"]

    again = await counts(client, "bai-mot", "bai-hai", "bai-ba", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["ETag"] == etag
    [newer] = await submit(client, 1, thread="bai-ba")
    assert await approve(client, newer)
    changed = await counts(client, "bai-mot", "bai-hai", "bai-ba", headers={"If-None-Match": etag})
    assert changed.status == 200
    assert (await changed.json())["counts"]["bai-ba"] == 1


async def test_counts_refuses_what_it_cannot_answer(client: Client) -> None:
    await expect_problem(await counts(client), 422, "validation-failed")
    await expect_problem(await counts(client, "bad thread"), 422, "validation-failed")
    many = [f"bai-{i}" for i in range(101)]
    await expect_problem(await counts(client, *many), 422, "validation-failed")
    assert (await counts(client, *many[:100])).status == 200
    response = await client.get("/v1/sites/nowhere/counts", params={"thread": "a"})
    await expect_problem(response, 404, "unknown-site")


async def test_counts_are_public_to_the_sites_origins(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await make_client(sites={"news": site(allowed_origins=["https://news.example.vn"])})
    response = await client.get(
        COUNTS, params={"thread": "a"}, headers={"Origin": "https://news.example.vn"}
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://news.example.vn"


async def test_config_is_cached_and_revalidated(client: Client) -> None:
    response = await client.get("/v1/sites/news/config")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    etag = response.headers["ETag"]
    cached = await client.get("/v1/sites/news/config", headers={"If-None-Match": etag})
    assert cached.status == 304
    assert await cached.read() == b""
    other = await client.get("/v1/sites/news/config", headers={"If-None-Match": '"other"'})
    assert other.status == 200
    assert await other.json() == await response.json()


async def test_counts_when_redis_is_unreachable_is_503(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = await make_client(
        redis={"url": f"redis://127.0.0.1:{port}/0", "connect_timeout": 0.2, "timeout": 0.2}
    )
    response = await counts(client, "bai-mot")
    await expect_problem(response, 503, "unavailable")
    assert response.headers["Retry-After"]
    # The config needs no Redis: it is still served, cached.
    assert (await client.get("/v1/sites/news/config")).status == 200
