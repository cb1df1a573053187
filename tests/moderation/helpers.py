"""Plain helpers shared by the moderation API's tests (tests/moderation/):
comments submitted at once, calls of the API with a key, and what the public
read shows."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from tests.helpers import THREAD, Client, Key, accepted, author, mint, submission

MOD = "/v1/sites/{site}/moderation"
# A well-formed comment id that is never stored.
UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
STATES = ("pending", "reported", "approved", "rejected", "spam")


async def submit(
    client: Client,
    count: int = 1,
    *,
    site_id: str = "news",
    email: str = "duong@example.vn",
    name: str = "Nguyễn Thị Thùy Dương",
    thread: str = THREAD,
    parent_id: str | None = None,
    body: str = "Bài viết rất hay.",
    expect: str = "pending",
) -> list[str]:
    """`count` comments submitted at once with minted captchas; their ids."""
    captchas = await mint(client, site_id, count)

    async def one(captcha: tuple[str, str]) -> str:
        payload = submission(
            captcha,
            thread=thread,
            parent_id=parent_id,
            body=body,
            author=author(email, name),
        )
        response = await client.post(f"/v1/sites/{site_id}/comments", json=payload)
        return await accepted(response, expect)

    return list(await asyncio.gather(*(one(c) for c in captchas)))


def url(path: str, site_id: str = "news") -> str:
    return MOD.format(site=site_id) + path


async def get(
    client: Client, key: Key, path: str, status: int = 200, site_id: str = "news", **params: Any
) -> Any:
    response = await client.get(url(path, site_id), headers=key.headers, params=params)
    assert response.status == status, await response.text()
    return await response.json()


async def post(
    client: Client, key: Key, path: str, body: Any, status: int = 200, site_id: str = "news"
) -> Any:
    response = await client.post(url(path, site_id), headers=key.headers, json=body)
    assert response.status == status, await response.text()
    return await response.json()


async def decide(
    client: Client, key: Key, *decisions: tuple[str, str], reason: str = "", site_id: str = "news"
) -> list[dict[str, Any]]:
    body = {"decisions": [{"id": i, "action": a, "reason": reason} for i, a in decisions]}
    answer = await post(client, key, "/decisions", body, site_id=site_id)
    return list(answer["results"])


async def claim(
    client: Client, key: Key, limit: int = 10, lease_seconds: int = 300, **extra: Any
) -> dict[str, Any]:
    body = {"limit": limit, "lease_seconds": lease_seconds, **extra}
    return dict(await post(client, key, "/claims", body))


async def pending_items(client: Client, key: Key) -> list[dict[str, Any]]:
    page = await get(client, key, "/queue", state="pending", order="oldest", limit=100)
    return list(page["items"])


async def public_read(client: Client, thread: str = THREAD) -> tuple[list[str], str]:
    response = await client.get(f"/v1/sites/news/threads/{thread}/comments")
    assert response.status == 200, await response.text()
    page = await response.json()
    return [c["id"] for c in page["comments"]], response.headers["ETag"]


async def audit(client: Client, admin: Key, **params: Any) -> list[dict[str, Any]]:
    page = await get(client, admin, "/audit", limit=100, **params)
    return list(page["entries"])


async def detail(client: Client, key: Key, comment_id: str) -> dict[str, Any]:
    return dict(await get(client, key, f"/comments/{comment_id}"))


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
