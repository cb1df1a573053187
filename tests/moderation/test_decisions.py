"""The moderation API (DESIGN.md "Moderation", issue 3): role and site checks
on every route of the table, the queue, exclusive claims and their leases,
decisions and their races, the audit log and a comment's history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from service.http.routes import ENDPOINTS, Endpoint
from service.http.state import SERVICES
from service.moderation.apikeys import Role
from tests.helpers import (
    THREAD,
    Client,
    Key,
    accepted,
    author,
    expect_problem,
    keys_of,
    mint,
    new_key,
    queue_ids,
    redis_now_ms,
    site,
    submission,
)

MOD = "/v1/sites/{site}/moderation"
# A well-formed comment id that is never stored.
UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
STATES = ("pending", "reported", "approved", "rejected", "spam")


# ----------------------------------------------------------------- helpers


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


# --------------------------------------------------- roles and sites, per route

MOD_ROUTES: list[Endpoint] = [e for e in ENDPOINTS if "/moderation/" in e.path]


def suffix(endpoint: Endpoint) -> str:
    return endpoint.path.removeprefix(MOD)


ROUTE_IDS = [f"{e.method} {suffix(e)}" for e in MOD_ROUTES]
EXPECTED_ROLES = {
    "GET /queue": "moderator",
    "POST /claims": "moderator",
    "POST /decisions": "moderator",
    "GET /comments/{comment}": "moderator",
    "GET /audit": "admin",
    "GET /bans": "admin",
    "POST /bans": "admin",
    "POST /erasures": "admin",
    "GET /webhooks/dead": "admin",
    "POST /webhooks/dead/{delivery}/retry": "admin",
}
# What each route answers when the key is good.
SUCCESS = {
    "GET /queue": 200,
    "POST /claims": 200,
    "POST /decisions": 200,
    "GET /comments/{comment}": 200,
    "GET /audit": 200,
    "GET /bans": 200,
    "POST /bans": 201,
    "POST /erasures": 200,
    "GET /webhooks/dead": 200,
    "POST /webhooks/dead/{delivery}/retry": 202,
}
DEAD_DELIVERY = "dead-delivery-1"


def route_body(endpoint: Endpoint, comment_id: str) -> Any:
    return {
        "/claims": {"limit": 1, "lease_seconds": 60},
        "/decisions": {"decisions": [{"id": comment_id, "action": "approve", "reason": ""}]},
        "/bans": {"email": "troll@example.vn", "reason": "tests"},
        "/erasures": {"email": "gone@example.vn"},
    }.get(suffix(endpoint))


async def call(
    client: Client,
    endpoint: Endpoint,
    headers: dict[str, str],
    site_id: str = "news",
    comment_id: str = UNKNOWN_ID,
) -> Any:
    path = endpoint.path.format(site=site_id, comment=comment_id, delivery=DEAD_DELIVERY)
    if endpoint.method == "GET":
        return await client.get(path, headers=headers)
    body = route_body(endpoint, comment_id)
    return await client.post(path, json=body, headers=headers)


@dataclass
class World:
    client: Client
    comments: dict[str, str]  # site -> one pending comment


@pytest.fixture
async def world(make_client: Callable[..., Awaitable[Client]], rds: aioredis.Redis) -> World:
    """Two configured sites, each with a pending comment and a dead webhook delivery."""
    client = await make_client(sites={"news": site(), "sport": site()})
    comments = {}
    for site_id in ("news", "sport"):
        [comments[site_id]] = await submit(client, site_id=site_id)
        keys = keys_of(client, site_id)
        entry = {"target": "gone", "event": "comment.approved", "attempts": 10, "body": "{}"}
        await rds.hset(keys.outbox, DEAD_DELIVERY, json.dumps(entry))
        await rds.zadd(keys.outbox_dead, {DEAD_DELIVERY: await redis_now_ms(rds)})
    return World(client, comments)


async def nothing_done(rds: aioredis.Redis, world: World) -> None:
    """A refused call left no trace: no audit entry, no ban, the comment pending."""
    keys = keys_of(world.client)
    assert await rds.xlen(keys.audit) == 0
    assert await rds.hlen(keys.bans) == 0
    assert await rds.zscore(keys.queue("pending"), world.comments["news"]) is not None
    assert await rds.zscore(keys.leases, world.comments["news"]) is None


def test_route_table_has_every_moderation_route_with_its_role() -> None:
    assert {f"{e.method} {suffix(e)}": e.role for e in MOD_ROUTES} == EXPECTED_ROLES


@pytest.mark.parametrize("endpoint", MOD_ROUTES, ids=ROUTE_IDS)
async def test_no_valid_key_is_401(endpoint: Endpoint, world: World, rds: aioredis.Redis) -> None:
    client = world.client
    good = await new_key(client, "admin", ("*",))
    revoked = await new_key(client, "admin", ("*",))
    assert await client.app[SERVICES].api_keys.revoke(revoked.id)
    last = "A" if good.token[-1] != "A" else "B"
    variants = {
        "no header": {},
        "empty header": {"Authorization": ""},
        "basic scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "bearer without token": {"Authorization": "Bearer"},
        "token without scheme": {"Authorization": good.token},
        "garbage": {"Authorization": "Bearer not-a-key"},
        "bad id": {"Authorization": "Bearer lbk_zzzzzzzzzzzz_" + good.token[17:]},
        "unknown id": {"Authorization": "Bearer lbk_000000000000_" + good.token[17:]},
        "wrong secret": {"Authorization": "Bearer " + good.token[:-1] + last},
        "longer secret": {"Authorization": "Bearer " + good.token + "x"},
        "revoked": revoked.headers,
    }
    for label, headers in variants.items():
        response = await call(client, endpoint, headers, comment_id=world.comments["news"])
        await expect_problem(response, 401, "unauthorized")
        challenge = response.headers.get("WWW-Authenticate", "")
        assert challenge.startswith("Bearer"), label
    await nothing_done(rds, world)
    # The same call with the good key is not refused: the 401s were about the key.
    response = await call(client, endpoint, good.headers, comment_id=world.comments["news"])
    assert response.status == SUCCESS[f"{endpoint.method} {suffix(endpoint)}"]


@pytest.mark.parametrize("endpoint", MOD_ROUTES, ids=ROUTE_IDS)
async def test_key_of_another_site_is_403(
    endpoint: Endpoint, world: World, rds: aioredis.Redis
) -> None:
    other = await new_key(world.client, "admin", ("sport",))
    response = await call(world.client, endpoint, other.headers, comment_id=world.comments["news"])
    await expect_problem(response, 403, "forbidden")
    await nothing_done(rds, world)


@pytest.mark.parametrize("endpoint", MOD_ROUTES, ids=ROUTE_IDS)
async def test_moderator_key_is_403_on_admin_routes_only(
    endpoint: Endpoint, world: World, rds: aioredis.Redis
) -> None:
    moderator = await new_key(world.client, "moderator", ("news",))
    response = await call(
        world.client, endpoint, moderator.headers, comment_id=world.comments["news"]
    )
    if endpoint.role == "admin":
        await expect_problem(response, 403, "forbidden")
        await nothing_done(rds, world)
    else:
        assert response.status == SUCCESS[f"{endpoint.method} {suffix(endpoint)}"], (
            await response.text()
        )


@pytest.mark.parametrize("site_id", ["news", "sport"])
@pytest.mark.parametrize("endpoint", MOD_ROUTES, ids=ROUTE_IDS)
async def test_key_for_all_sites_works_on_every_configured_site(
    endpoint: Endpoint, site_id: str, world: World
) -> None:
    role: Role = "moderator" if endpoint.role == "moderator" else "admin"
    everywhere = await new_key(world.client, role, ("*",))
    comment_id = world.comments[site_id]
    response = await call(world.client, endpoint, everywhere.headers, site_id, comment_id)
    text = await response.text()
    assert response.status == SUCCESS[f"{endpoint.method} {suffix(endpoint)}"], text
    answer = json.loads(text)
    if suffix(endpoint) == "/decisions":
        assert answer["results"][0]["status"] == 200, text
    if suffix(endpoint) == "/comments/{comment}":
        assert answer["id"] == comment_id


@pytest.mark.parametrize("endpoint", MOD_ROUTES, ids=ROUTE_IDS)
async def test_unknown_site_with_a_key_for_all_sites_is_404(
    endpoint: Endpoint, world: World
) -> None:
    everywhere = await new_key(world.client, "admin", ("*",))
    response = await call(world.client, endpoint, everywhere.headers, "no-such-site")
    await expect_problem(response, 404, "unknown-site")


async def test_a_key_covering_two_sites_works_on_both_and_no_other(world: World) -> None:
    client = world.client
    both = await new_key(client, "moderator", ("news", "sport"))
    for site_id in ("news", "sport"):
        page = await get(client, both, "/queue", site_id=site_id)
        assert [i["id"] for i in page["items"]] == [world.comments[site_id]]
    just_news = await new_key(client, "moderator", ("news",))
    response = await client.get(url("/queue", "sport"), headers=just_news.headers)
    await expect_problem(response, 403, "forbidden")


# ------------------------------------------------------------------- queue


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
    assert item["author"] == {"name": "Trần Văn Bình", "email": "binh@example.vn"}
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


# ------------------------------------------------------------------ claims


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


# --------------------------------------------------------------- decisions


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


# --------------------------------------------------------- audit and history


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
    assert fresh["author"] == {"name": "Nguyễn Thị Thùy Dương", "email": "duong@example.vn"}
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
