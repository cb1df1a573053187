"""The moderation queue: what an item carries for a moderator, its states and
counts, and its orders and pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import THREAD, Client, expect_problem, new_key, queue_ids, site
from tests.moderation.helpers import claim, decide, get, pending_items, post, submit, url, when


async def test_queue_items_carry_what_a_moderator_needs(client: Client) -> None:
    moderator = await new_key(client)
    [parent] = await submit(client)
    assert (await decide(client, moderator, (parent, "approve")))[0]["status"] == 200
    [reply] = await submit(
        client,
        parent_id=parent,
        name="Trần Văn Bình",
        email="binh@example.vn",
        body="Tôi đồng ý với bạn.",
    )
    page = await get(client, moderator, "/queue", state="pending")
    [item] = page["items"]
    assert item["id"] == reply
    assert item["author"] == {"name": "Trần Văn Bình", "email": "binh@example.vn", "user_id": None}
    assert item["thread"] == THREAD
    assert item["parent_id"] == parent
    assert item["body"] == "Tôi đồng ý với bạn."
    assert item["status"] == "pending"
    assert item["reasons"] == []
    assert isinstance(item["score"], int | float)
    assert item["score"] >= 0
    assert item["lease"] is None
    [top] = (await get(client, moderator, "/queue", state="approved"))["items"]
    assert top["id"] == parent
    assert top["parent_id"] is None

    before = datetime.now(UTC)
    claimed = await claim(client, moderator, limit=5, lease_seconds=120)
    assert [i["id"] for i in claimed["items"]] == [reply]
    [item] = (await get(client, moderator, "/queue", state="pending"))["items"]
    assert item["lease"]["key_id"] == moderator.id
    until = when(item["lease"]["until"])
    assert before + timedelta(seconds=110) < until < before + timedelta(seconds=130)
    assert item["lease"]["until"] == claimed["lease_until"]


async def test_queue_shows_the_reasons_of_a_shadow_banned_comment(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await make_client(sites={"news": site(ban_response="shadow")})
    admin = await new_key(client, "admin")
    await post(client, admin, "/bans", {"email": "troll@example.vn"}, status=201)
    [hidden] = await submit(client, email="troll@example.vn")
    assert await queue_ids(client, admin.headers, "pending") == []
    [item] = (await get(client, admin, "/queue", state="rejected"))["items"]
    assert item["id"] == hidden
    assert item["reasons"] == ["banned"]


async def test_queue_states_and_counts(make_client: Callable[..., Awaitable[Client]]) -> None:
    client = await make_client(sites={"news": site(reports_threshold=1)})
    moderator = await new_key(client)
    a, b, c, d, e, f = await submit(client, 6)
    results = await decide(
        client, moderator, (a, "approve"), (b, "approve"), (c, "reject"), (d, "spam")
    )
    assert [r["status"] for r in results] == [200] * 4
    response = await client.post(
        f"/v1/sites/news/comments/{b}/reports", json={"reason": "xúc phạm"}
    )
    assert response.status == 202, await response.text()
    expected = {
        "pending": sorted([e, f]),
        "reported": [b],
        "approved": [a],
        "rejected": [c],
        "spam": [d],
    }
    for state, ids in expected.items():
        page = await get(client, moderator, "/queue", state=state)
        assert [i["id"] for i in page["items"]] == ids, state
        assert {i["status"] for i in page["items"]} == {state}
        assert page["counts"] == {s: len(v) for s, v in expected.items()}


async def test_queue_orders_and_pages_visit_every_item_once(client: Client) -> None:
    moderator = await new_key(client)
    ids = await submit(client, 23)
    for order, expected in (("oldest", sorted(ids)), ("newest", sorted(ids, reverse=True))):
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            params: dict[str, Any] = {"state": "pending", "order": order, "limit": 5}
            if after is not None:
                params["after"] = after
            page = await get(client, moderator, "/queue", **params)
            pages += 1
            assert len(page["items"]) <= 5
            assert page["counts"]["pending"] == 23
            seen += [item["id"] for item in page["items"]]
            after = page["next"]
            if after is None:
                break
            assert after == page["items"][-1]["id"]
            assert pages < 10, "paging does not end"
        assert seen == expected, order
        assert pages == 5
    times = [when(item["created_at"]) for item in await pending_items(client, moderator)]
    assert times == sorted(times)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "foo"}, "state"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"after": "not-an-id"}, "after"),
    ],
)
async def test_queue_bad_query_is_422(client: Client, params: dict[str, str], field: str) -> None:
    moderator = await new_key(client)
    response = await client.get(url("/queue"), headers=moderator.headers, params=params)
    problem = await expect_problem(response, 422, "validation-failed")
    assert field in [e["field"] for e in problem["errors"]]
