"""The audit log and a comment's history: every action with who took it and
why, filters and pages over the log, and no reader's email in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.helpers import Client, expect_problem, keys_of, new_key
from tests.moderation.helpers import (
    UNKNOWN_ID,
    audit,
    claim,
    decide,
    detail,
    get,
    post,
    submit,
    url,
    when,
)


async def test_every_action_is_in_the_audit_log(client: Client, rds: aioredis.Redis) -> None:
    moderator = await new_key(client, name="Mod Minh")
    admin = await new_key(client, "admin", name="Admin An")
    approved, rejected, spam, banned_from = sorted(await submit(client, 4))
    [erased] = await submit(client, email="xoa@example.vn")
    started = datetime.now(UTC) - timedelta(seconds=1)
    claimed = await claim(client, moderator, limit=1)
    assert [item["id"] for item in claimed["items"]] == [approved]
    await decide(client, moderator, (approved, "approve"), reason="hợp lệ")
    await decide(client, moderator, (rejected, "reject"), reason="lạc đề")
    await decide(client, admin, (spam, "spam"), reason="liên kết quảng cáo")
    await post(client, admin, "/bans", {"email": "troll@example.vn", "reason": "troll"}, 201)
    await post(client, admin, "/bans", {"comment_id": banned_from, "reason": "sockpuppet"}, 201)
    erasure = await post(client, admin, "/erasures", {"email": "xoa@example.vn"})
    assert erasure == {"erased_comments": 1}
    finished = datetime.now(UTC) + timedelta(seconds=1)

    entries = await audit(client, admin)
    got = [(e["action"], e["key"], e["moderator"], e["comment"], e["reason"]) for e in entries]
    assert got[1:] == [
        ("ban", admin.id, "Admin An", banned_from, "sockpuppet"),
        ("ban", admin.id, "Admin An", None, "troll"),
        ("spam", admin.id, "Admin An", spam, "liên kết quảng cáo"),
        ("reject", moderator.id, "Mod Minh", rejected, "lạc đề"),
        ("approve", moderator.id, "Mod Minh", approved, "hợp lệ"),
        ("claim", moderator.id, "Mod Minh", approved, ""),
    ]
    tombstone = entries[0]
    assert (tombstone["action"], tombstone["key"], tombstone["moderator"]) == (
        "erasure",
        admin.id,
        "Admin An",
    )
    assert "xoa@" not in json.dumps(tombstone)
    assert erased not in json.dumps(tombstone)
    times = [when(e["at"]) for e in entries]
    assert all(started <= t <= finished for t in times)
    assert times == sorted(times, reverse=True)
    stream_ids = [tuple(int(p) for p in e["id"].split("-")) for e in entries]
    assert stream_ids == sorted(stream_ids, reverse=True)
    assert len(set(stream_ids)) == 7
    # The stream itself holds no reader's email.
    raw = await rds.xrange(keys_of(client).audit)
    assert len(raw) == 7
    for _, fields in raw:
        assert not any(b"@example.vn" in v for v in fields.values()), fields


async def test_audit_filters_by_moderator_and_comment(client: Client) -> None:
    first, second = await new_key(client, name="Một"), await new_key(client, name="Hai")
    admin = await new_key(client, "admin")
    ids = sorted(await submit(client, 6))
    for n, comment in enumerate(ids):
        await decide(client, first if n % 2 == 0 else second, (comment, "approve"))
    mine = await audit(client, admin, moderator=first.id)
    assert [e["comment"] for e in mine] == [ids[4], ids[2], ids[0]]
    assert {e["key"] for e in mine} == {first.id}
    theirs = await audit(client, admin, moderator=second.id)
    assert [e["comment"] for e in theirs] == [ids[5], ids[3], ids[1]]
    [one] = await audit(client, admin, comment=ids[3])
    assert (one["comment"], one["key"], one["action"]) == (ids[3], second.id, "approve")
    assert await audit(client, admin, comment=ids[3], moderator=first.id) == []
    assert await audit(client, admin, moderator="000000000000") == []


@pytest.mark.parametrize("moderator_filter", [False, True])
async def test_audit_pages_with_before_visit_every_entry_once(
    client: Client, moderator_filter: bool
) -> None:
    first, second = await new_key(client), await new_key(client)
    admin = await new_key(client, "admin")
    ids = sorted(await submit(client, 12))
    for n, comment in enumerate(ids):
        await decide(client, first if n % 3 else second, (comment, "reject"))
    params: dict[str, Any] = {"moderator": first.id} if moderator_filter else {}
    everything = await audit(client, admin, **params)
    assert len(everything) == (8 if moderator_filter else 12)
    seen: list[dict[str, Any]] = []
    before = None
    for _ in range(20):
        query = dict(params, limit=3)
        if before is not None:
            query["before"] = before
        page = await get(client, admin, "/audit", **query)
        assert len(page["entries"]) <= 3
        seen += page["entries"]
        before = page["next"]
        if before is None:
            break
    assert before is None, "paging does not end"
    assert [e["id"] for e in seen] == [e["id"] for e in everything]
    expected = [c for n, c in enumerate(ids) if n % 3 or not moderator_filter]
    assert [e["comment"] for e in seen] == expected[::-1]


async def test_audit_bad_query_is_422(client: Client) -> None:
    admin = await new_key(client, "admin")
    for params in (
        {"before": "yesterday"},
        {"before": "18446744073709551616-0"},  # past Redis's 64-bit ids
        {"limit": "0"},
        {"comment": "nope"},
    ):
        response = await client.get(url("/audit"), headers=admin.headers, params=params)
        await expect_problem(response, 422, "validation-failed")


async def test_audit_before_the_first_id_is_an_empty_page(client: Client) -> None:
    # Found by schemathesis: "(0-0" is no interval Redis accepts.
    admin = await new_key(client, "admin")
    for first in ("0-0", "00-000"):
        response = await client.get(url("/audit"), headers=admin.headers, params={"before": first})
        assert response.status == 200, await response.text()
        assert await response.json() == {"entries": [], "next": None}


async def test_a_comments_history_lists_every_action(client: Client) -> None:
    moderator = await new_key(client, name="Mod Minh")
    admin = await new_key(client, "admin", name="Admin An")
    [comment] = await submit(client)
    fresh = await detail(client, moderator, comment)
    assert [h["action"] for h in fresh["history"]] == ["submitted"]
    assert fresh["author"] == {
        "name": "Nguyễn Thị Thùy Dương",
        "email": "duong@example.vn",
        "user_id": None,
    }
    assert (fresh["id"], fresh["status"], fresh["published"]) == (comment, "pending", False)

    await decide(client, moderator, (comment, "approve"), reason="hợp lệ")
    await decide(client, moderator, (comment, "reject"), reason="đổi ý")  # a 409: no event
    await post(client, admin, "/bans", {"comment_id": comment, "reason": "sockpuppet"}, 201)
    full = await detail(client, moderator, comment)
    assert (full["status"], full["published"]) == ("approved", True)
    assert [(h["action"], h["key"], h["moderator"], h["reason"]) for h in full["history"]] == [
        ("submitted", "", "", ""),
        ("approve", moderator.id, "Mod Minh", "hợp lệ"),
        ("ban", admin.id, "Admin An", "sockpuppet"),
    ]
    times = [when(h["at"]) for h in full["history"]]
    assert times == sorted(times)
    assert full["history"][0]["at"] == full["created_at"]


@pytest.mark.parametrize("comment_id", [UNKNOWN_ID, "not-a-comment-id"])
async def test_an_unknown_comment_is_404(client: Client, comment_id: str) -> None:
    moderator = await new_key(client)
    await submit(client)
    response = await client.get(url(f"/comments/{comment_id}"), headers=moderator.headers)
    await expect_problem(response, 404, "unknown-comment")
