"""Moderation decisions (the contract's "Moderation", issue 3): what each action
publishes or takes down, per-item answers in a batch (404, 409), author-wide
actions, bad bodies, and races with one winner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.helpers import THREAD, Client, Key, expect_problem, new_key, queue_ids, site
from tests.moderation.helpers import (
    UNKNOWN_ID,
    audit,
    decide,
    detail,
    get,
    public_read,
    submit,
    url,
)


async def test_approve_publishes_with_a_new_etag(client: Client) -> None:
    moderator = await new_key(client)
    [comment] = await submit(client)
    ids, etag = await public_read(client)
    assert ids == []
    cached = await client.get(
        f"/v1/sites/news/threads/{THREAD}/comments", headers={"If-None-Match": etag}
    )
    assert cached.status == 304
    [result] = await decide(client, moderator, (comment, "approve"), reason="hợp lệ")
    assert result == {
        "id": comment,
        "action": "approve",
        "status": 200,
        "outcome": "approved",
        "detail": result["detail"],
    }
    ids, new_etag = await public_read(client)
    assert ids == [comment]
    assert new_etag != etag
    stale = await client.get(
        f"/v1/sites/news/threads/{THREAD}/comments", headers={"If-None-Match": etag}
    )
    assert stale.status == 200


async def test_the_same_decision_twice_is_harmless(client: Client) -> None:
    moderator, admin = await new_key(client), await new_key(client, "admin")
    [comment] = await submit(client)
    [first] = await decide(client, moderator, (comment, "approve"))
    assert first["outcome"] == "approved"
    ids, etag = await public_read(client)
    [again] = await decide(client, moderator, (comment, "approve"))
    assert (again["status"], again["outcome"]) == (200, "unchanged")
    assert await public_read(client) == (ids, etag)
    assert [e["action"] for e in await audit(client, admin, comment=comment)] == ["approve"]
    history = (await detail(client, moderator, comment))["history"]
    assert [h["action"] for h in history] == ["submitted", "approve"]
    assert await queue_ids(client, admin.headers, "approved") == [comment]


async def test_a_conflicting_decision_is_a_per_item_409(client: Client) -> None:
    moderator, admin = await new_key(client), await new_key(client, "admin")
    approved, rejected = sorted(await submit(client, 2))
    await decide(client, moderator, (approved, "approve"), (rejected, "reject"))
    _, etag = await public_read(client)
    results = await decide(client, moderator, (approved, "reject"), (rejected, "spam"))
    assert [(r["id"], r["status"], r["outcome"]) for r in results] == [
        (approved, 409, "conflict"),
        (rejected, 409, "conflict"),
    ]
    assert await public_read(client) == ([approved], etag)
    assert await queue_ids(client, admin.headers, "approved") == [approved]
    assert await queue_ids(client, admin.headers, "rejected") == [rejected]
    assert await queue_ids(client, admin.headers, "spam") == []
    assert len(await audit(client, admin)) == 2
    # Within one batch too: the first decision stands, the second conflicts.
    [fresh] = await submit(client)
    results = await decide(client, moderator, (fresh, "spam"), (fresh, "approve"))
    assert [(r["status"], r["outcome"]) for r in results] == [(200, "spam"), (409, "conflict")]
    assert await queue_ids(client, admin.headers, "spam") == [fresh]


async def test_a_decision_race_has_one_winner(client: Client) -> None:
    moderators = [await new_key(client) for _ in range(4)]
    admin = await new_key(client, "admin")
    comments = await submit(client, 5)
    calls = []
    for comment in comments:
        for n in range(16):
            action = "approve" if n % 2 == 0 else "reject"
            calls.append((comment, action, moderators[n % 4]))

    async def one(comment: str, action: str, key: Key) -> dict[str, Any]:
        [result] = await decide(client, key, (comment, action))
        return result

    results = await asyncio.gather(*(one(*c) for c in calls))
    published, _ = await public_read(client)
    for comment in comments:
        mine = [r for r in results if r["id"] == comment]
        winners = [r for r in mine if r["outcome"] in ("approved", "rejected")]
        assert len(winners) == 1, mine
        winner = winners[0]
        for r in mine:
            if r is winner:
                continue
            if r["action"] == winner["action"]:
                assert (r["status"], r["outcome"]) == (200, "unchanged"), r
            else:
                assert (r["status"], r["outcome"]) == (409, "conflict"), r
        final = await detail(client, admin, comment)
        assert final["status"] == winner["outcome"]
        assert (comment in published) == (winner["outcome"] == "approved")
        assert len(await audit(client, admin, comment=comment)) == 1


@pytest.mark.parametrize("action", ["reject", "spam"])
async def test_rejecting_a_published_comment_takes_it_down(
    make_client: Callable[..., Awaitable[Client]], action: str
) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    moderator = await new_key(client)
    [comment, kept] = sorted(await submit(client, 2, expect="approved"))
    ids, etag = await public_read(client)
    assert ids == [comment, kept]
    # Post-moderated comments are still listed for review.
    [item, _] = (await get(client, moderator, "/queue", state="pending"))["items"]
    assert (item["id"], item["published"]) == (comment, True)
    [result] = await decide(client, moderator, (comment, action))
    outcome = {"reject": "rejected", "spam": "spam"}[action]
    assert (result["status"], result["outcome"]) == (200, outcome)
    ids, new_etag = await public_read(client)
    assert ids == [kept]
    assert new_etag != etag
    taken_down = await detail(client, moderator, comment)
    assert taken_down["published"] is False
    assert await queue_ids(client, moderator.headers, result["outcome"]) == [comment]


async def test_an_unknown_id_is_a_per_item_404(client: Client) -> None:
    moderator = await new_key(client)
    [comment] = await submit(client)
    results = await decide(client, moderator, (UNKNOWN_ID, "approve"), (comment, "approve"))
    assert [(r["id"], r["status"]) for r in results] == [(UNKNOWN_ID, 404), (comment, 200)]
    assert results[1]["outcome"] == "approved"


async def test_approve_and_trust_publishes_the_authors_next_comment(client: Client) -> None:
    moderator = await new_key(client)
    [first] = await submit(client, email="tin@example.vn")
    [result] = await decide(client, moderator, (first, "approve_and_trust"))
    assert (result["status"], result["outcome"]) == (200, "approved")
    [second] = await submit(client, email="tin@example.vn", expect="approved")
    [stranger] = await submit(client, email="la@example.vn")
    ids, _ = await public_read(client)
    assert sorted(ids) == sorted([first, second])
    assert stranger not in ids
    assert await queue_ids(client, moderator.headers, "pending") == [stranger]


async def test_reject_author_rejects_every_pending_comment_of_the_author(client: Client) -> None:
    moderator, admin = await new_key(client), await new_key(client, "admin")
    theirs = await submit(client, 3, email="spammer@example.vn")
    [other] = await submit(client, email="reader@example.vn")
    results = await decide(client, moderator, (theirs[1], "reject_author"), reason="quảng cáo")
    assert {r["id"] for r in results} == set(theirs)
    assert {(r["status"], r["outcome"]) for r in results} == {(200, "rejected")}
    assert await queue_ids(client, admin.headers, "pending") == [other]
    assert await queue_ids(client, admin.headers, "rejected") == sorted(theirs)
    assert sorted(e["comment"] for e in await audit(client, admin)) == sorted(theirs)


async def test_reject_author_takes_down_what_is_published_but_reject_does_not(
    client: Client,
) -> None:
    moderator, admin = await new_key(client), await new_key(client, "admin")
    published, held = await submit(client, 2, email="spammer@example.vn")
    await decide(client, moderator, (published, "approve"))
    assert (await public_read(client))[0] == [published]
    [refused] = await decide(client, moderator, (published, "reject"))
    assert (refused["status"], refused["outcome"]) == (409, "conflict")
    assert (await public_read(client))[0] == [published]
    results = await decide(client, moderator, (held, "reject_author"))
    assert {(r["id"], r["outcome"]) for r in results} == {
        (held, "rejected"),
        (published, "rejected"),
    }
    assert (await public_read(client))[0] == []
    assert await queue_ids(client, admin.headers, "approved") == []


async def test_first_comment_mode_holds_only_the_first_comment(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await make_client(sites={"news": site(moderation="first-comment")})
    moderator = await new_key(client)
    [first] = await submit(client, email="moi@example.vn")
    assert (await public_read(client))[0] == []
    [held] = await submit(client, email="moi@example.vn")  # still held before approval
    await decide(client, moderator, (first, "approve"))
    [later] = await submit(client, email="moi@example.vn", expect="approved")
    [newcomer] = await submit(client, email="khac@example.vn")
    ids, _ = await public_read(client)
    assert sorted(ids) == sorted([first, later])
    assert sorted(await queue_ids(client, moderator.headers, "pending")) == sorted([held, newcomer])


@pytest.mark.parametrize(
    ("body", "content_type", "status", "problem"),
    [
        (b"{not json", "application/json", 400, "invalid-json"),
        (
            b'{"decisions": [{"id": "%s", "action": "delete"}]}',
            "application/json",
            422,
            "validation-failed",
        ),
        (b'{"decisions": []}', "application/json", 422, "validation-failed"),
        (
            b'{"decisions": [{"id": "nope", "action": "approve"}]}',
            "application/json",
            422,
            "validation-failed",
        ),
        (b'{"decisions": "all"}', "application/json", 422, "validation-failed"),
        (b"[]", "application/json", 422, "validation-failed"),
        (
            b'{"decisions": [{"id": "%s", "action": "approve"}]}',
            "text/plain",
            415,
            "unsupported-media-type",
        ),
    ],
    ids=["invalid-json", "unknown-action", "empty", "bad-id", "wrong-type", "array", "text-plain"],
)
async def test_bad_decision_bodies(
    client: Client, body: bytes, content_type: str, status: int, problem: str
) -> None:
    moderator, admin = await new_key(client), await new_key(client, "admin")
    [comment] = await submit(client)
    if b"%s" in body:
        body = body % comment.encode()
    response = await client.post(
        url("/decisions"),
        data=body,
        headers={**moderator.headers, "Content-Type": content_type},
    )
    await expect_problem(response, status, problem)
    assert await queue_ids(client, admin.headers, "pending") == [comment]
    assert await audit(client, admin) == []


async def test_more_than_100_decisions_is_422(client: Client) -> None:
    moderator, admin = await new_key(client), await new_key(client, "admin")
    [comment] = await submit(client)
    decisions = [{"id": comment, "action": "approve"}] * 101
    response = await client.post(
        url("/decisions"), headers=moderator.headers, json={"decisions": decisions}
    )
    await expect_problem(response, 422, "validation-failed")
    assert await queue_ids(client, admin.headers, "pending") == [comment]
    # 100 is still a valid batch.
    results = await decide(client, moderator, *[(comment, "approve")] * 100)
    assert len(results) == 100


async def test_a_null_reason_is_no_reason(client: Client) -> None:
    """Issue 14: clients send `"reason": null` for no reason; it was refused."""
    moderator, admin = await new_key(client), await new_key(client, "admin")
    [comment] = await submit(client)
    body = {"decisions": [{"id": comment, "action": "approve", "reason": None}]}
    response = await client.post(url("/decisions"), headers=moderator.headers, json=body)
    assert response.status == 200, await response.text()
    [result] = (await response.json())["results"]
    assert result["outcome"] == "approved"
    [entry] = await audit(client, admin)
    assert entry["reason"] == ""
    # A reason of another type is still refused.
    body = {"decisions": [{"id": comment, "action": "reject", "reason": 5}]}
    response = await client.post(url("/decisions"), headers=moderator.headers, json=body)
    await expect_problem(response, 422, "validation-failed")
