"""An erasure on a real topology, checked on disk: the author's email and
name in no node's append-only or RDB file afterwards, master or replica."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from tests.helpers import Client, author, bearer, eventually, forms, submit_ok

NAME = "Phạm Thị Xoá Đĩa"


class Node(Protocol):
    def files(self) -> dict[str, bytes]: ...


def needles(email: str) -> set[bytes]:
    local, domain = email.split("@")
    return {email.encode(), local.encode(), domain.encode(), *forms(NAME)}


def holders(servers: Sequence[Node], email: str) -> list[str]:
    """Every AOF or RDB file, of every node, that holds the email or the name."""
    found = needles(email)
    return [
        path
        for server in servers
        for path, blob in server.files().items()
        if any(needle in blob for needle in found)
    ]


async def erase_and_search_the_disks(
    client: Client, servers: Sequence[Node], replicas: Callable[[], Sequence[Node]], email: str
) -> None:
    """Submit as `email` on the news site, wait until a replica has it on
    disk (so the search can see what it looks for), erase the email, and
    find it in no node's files."""
    await submit_ok(client, "news", author=author(email, NAME))

    async def on_a_replica() -> bool:
        return bool(holders(replicas(), email))

    await eventually(on_a_replica, "the comment in a replica's files", within=30)
    response = await client.post(
        "/v1/sites/news/moderation/erasures", json={"email": email}, headers=await bearer(client)
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["erased_comments"] == 1
    # The answer comes once every node's files are rewritten: nothing to wait for.
    left = holders(servers, email)
    assert left == [], left
