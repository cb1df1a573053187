"""Who may call the moderation API (the contract's "Moderation", issue 3): every
route of the table refuses a missing or bad key (401), a key of another site
or of too small a role (403), and answers keys for all sites on every
configured site, and no other."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest
import redis.asyncio as aioredis

from service.http.auth import guarded
from service.http.routes import ENDPOINTS, Endpoint
from service.http.state import SERVICES
from service.moderation.apikeys import Role
from tests.helpers import Client, expect_problem, keys_of, new_key, redis_now_ms, site
from tests.moderation.helpers import MOD, UNKNOWN_ID, get, submit, url

# Every route the table gives a role: the moderation API, admin-only routes
# (erasure, webhook dead letters) included.
ROLE_ROUTES: list[Endpoint] = [e for e in ENDPOINTS if e.role is not None]


def suffix(endpoint: Endpoint) -> str:
    return endpoint.path.removeprefix(MOD)


ROUTE_IDS = [f"{e.method} {suffix(e)}" for e in ROLE_ROUTES]
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
    "GET /model": "admin",
    "POST /model": "admin",
    "POST /imports": "admin",
    "GET /export": "admin",
    "POST /subject-access": "admin",
    "DELETE /bans/{ban}": "admin",
    "POST /webhooks/dead/requeues": "admin",
    "GET /overview": "admin",
    "GET /site": "moderator",
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
    "GET /model": 200,
    "POST /model": 200,
    "POST /imports": 200,
    "GET /export": 200,
    "POST /subject-access": 200,
    "DELETE /bans/{ban}": 200,
    "POST /webhooks/dead/requeues": 200,
    "GET /overview": 200,
    "GET /site": 200,
}
DEAD_DELIVERY = "dead-delivery-1"
BAN = "b0b0b0b0b0b0b0b0"


def route_body(endpoint: Endpoint, comment_id: str) -> Any:
    return {
        "/claims": {"limit": 1, "lease_seconds": 60},
        "/decisions": {"decisions": [{"id": comment_id, "action": "approve", "reason": ""}]},
        "/bans": {"email": "troll@example.vn", "reason": "tests"},
        "/erasures": {"email": "gone@example.vn"},
        "/model": {"action": "freeze", "reason": "tests"},
        "/subject-access": {"email": "duong@example.vn"},
        "/webhooks/dead/requeues": {"ids": [DEAD_DELIVERY]},
    }.get(suffix(endpoint))


# What the import route is sent: one comment of a loibinh export.
IMPORTED = (
    b'{"id": "01GA9T3V6R0Q6D7C9J2W1N8K5M", "thread": "ca-mau-2022-08-12", "parent_id": null,'
    b' "author": {"name": "L\xc3\xaa Minh", "email": "minh@example.vn"}, "body": "Hay.",'
    b' "created_at": "2022-08-12T08:15:00.000Z", "status": "approved", "published": true}\n'
)


async def call(
    client: Client,
    endpoint: Endpoint,
    headers: dict[str, str],
    site_id: str = "news",
    comment_id: str = UNKNOWN_ID,
) -> Any:
    path = endpoint.path.format(site=site_id, comment=comment_id, delivery=DEAD_DELIVERY, ban=BAN)
    if endpoint.method == "GET":
        return await client.get(path, headers=headers)
    if endpoint.upload is not None:
        return await client.post(path, params={"format": "loibinh"}, data=IMPORTED, headers=headers)
    if endpoint.method == "DELETE":
        return await client.delete(path, headers=headers)
    body = route_body(endpoint, comment_id)
    return await client.post(path, json=body, headers=headers)


@dataclass
class World:
    client: Client
    comments: dict[str, str]  # site -> one pending comment


@pytest.fixture
async def world(make_client: Callable[..., Awaitable[Client]], rds: aioredis.Redis) -> World:
    """Two configured sites, each with a pending comment, a dead webhook
    delivery and a ban."""
    client = await make_client(sites={"news": site(), "sport": site()})
    comments = {}
    for site_id in ("news", "sport"):
        [comments[site_id]] = await submit(client, site_id=site_id)
        keys = keys_of(client, site_id)
        entry = {"target": "gone", "event": "comment.approved", "attempts": 10, "body": "{}"}
        await rds.hset(keys.outbox, DEAD_DELIVERY, json.dumps(entry))
        await rds.zadd(keys.outbox_dead, {DEAD_DELIVERY: await redis_now_ms(rds)})
        ban = {
            "id": BAN,
            "kind": "email",
            "email": "troll@example.vn",
            "comment_id": None,
            "until": None,
            "reason": "",
            "created_at": "2026-12-01T00:00:00.000Z",
            "key": "tests",
            "subject": "subject-hash",
            "until_ms": 0,
        }
        await rds.hset(keys.bans, BAN, json.dumps(ban))
        await rds.set(keys.ban("e", "subject-hash"), BAN)
    return World(client, comments)


async def nothing_done(rds: aioredis.Redis, world: World) -> None:
    """A refused call left no trace: no audit entry, no ban but the world's,
    the comment pending."""
    keys = keys_of(world.client)
    assert await rds.xlen(keys.audit) == 0
    assert await rds.hkeys(keys.bans) == [BAN.encode()]
    assert await rds.zscore(keys.queue("pending"), world.comments["news"]) is not None
    assert await rds.zscore(keys.leases, world.comments["news"]) is None


def test_route_table_has_every_moderation_route_with_its_role() -> None:
    assert {f"{e.method} {suffix(e)}": e.role for e in ROLE_ROUTES} == EXPECTED_ROLES
    assert all(e.role is not None for e in ENDPOINTS if "/moderation/" in e.path)


def test_a_role_no_key_can_have_fails_as_the_routes_are_registered() -> None:
    with pytest.raises(ValueError, match="moderatr"):
        guarded(ROLE_ROUTES[0].handler, "moderatr")


@pytest.mark.parametrize("endpoint", ROLE_ROUTES, ids=ROUTE_IDS)
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


@pytest.mark.parametrize("endpoint", ROLE_ROUTES, ids=ROUTE_IDS)
async def test_key_of_another_site_is_403(
    endpoint: Endpoint, world: World, rds: aioredis.Redis
) -> None:
    other = await new_key(world.client, "admin", ("sport",))
    response = await call(world.client, endpoint, other.headers, comment_id=world.comments["news"])
    await expect_problem(response, 403, "forbidden")
    await nothing_done(rds, world)


@pytest.mark.parametrize("endpoint", ROLE_ROUTES, ids=ROUTE_IDS)
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


@pytest.mark.parametrize("endpoint", ROLE_ROUTES, ids=ROUTE_IDS)
async def test_key_of_a_role_below_every_role_is_403(
    endpoint: Endpoint, world: World, rds: aioredis.Redis
) -> None:
    """Below the moderator role there is no role to mint; a key whose stored
    role the service does not know (a later version's, say) ranks below both."""
    unranked = await new_key(world.client, cast(Role, "reader"), ("news",))
    response = await call(
        world.client, endpoint, unranked.headers, comment_id=world.comments["news"]
    )
    await expect_problem(response, 403, "forbidden")
    await nothing_done(rds, world)


async def test_every_route_registered_at_a_role_path_refuses_a_request_without_a_key(
    world: World, rds: aioredis.Redis
) -> None:
    """Not the table but the app's own router: a handler registered at a role
    route's path (HEAD included) or under /moderation/ without the role check
    of add_routes answers here without a key, and fails."""
    client = world.client
    role_paths = {e.path for e in ROLE_ROUTES}
    values = {
        "site": "news",
        "comment": world.comments["news"],
        "delivery": DEAD_DELIVERY,
        "ban": BAN,
    }
    called = set()
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path not in role_paths and "/moderation/" not in path:
            continue
        target = re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "x"), path)
        body = {} if route.method == "POST" else None
        response = await client.request(route.method, target, json=body)
        assert response.status == 401, (route.method, path, await response.text())
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
        called.add(f"{route.method} {path}")
    table = {f"{e.method} {e.path}" for e in ROLE_ROUTES}
    table |= {f"HEAD {e.path}" for e in ROLE_ROUTES if e.method == "GET"}
    assert called == table
    await nothing_done(rds, world)


@pytest.mark.parametrize("site_id", ["news", "sport"])
@pytest.mark.parametrize("endpoint", ROLE_ROUTES, ids=ROUTE_IDS)
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


@pytest.mark.parametrize("endpoint", ROLE_ROUTES, ids=ROUTE_IDS)
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


# --- failed sign-ins --------------------------------------------------------------------------


async def test_failed_sign_ins_are_limited_per_client(
    make_client: Callable[..., Awaitable[Client]], rds: aioredis.Redis
) -> None:
    """Wrong keys from one client: 401 up to the limit, then 429 for every
    sign-in of that client, a right key included, while another client
    (behind the trusted proxy) still signs in."""
    client = await make_client(
        signin={"max_failures": 3, "window_seconds": 600},
        network={"trusted_proxies": ["127.0.0.1/32"]},
    )
    key = await new_key(client, "moderator")
    wrong = "lbk_0123456789ab_" + "x" * 32
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    queue = "/v1/sites/news/moderation/queue"
    for _ in range(3):
        response = await client.get(queue, headers={**guesser, "Authorization": f"Bearer {wrong}"})
        await expect_problem(response, 401, "unauthorized")
    for token in (wrong, key.token):
        response = await client.get(queue, headers={**guesser, "Authorization": f"Bearer {token}"})
        body = await expect_problem(response, 429, "rate-limited")
        assert "failed sign-ins" in body["detail"]
        assert 0 < int(response.headers["Retry-After"]) <= 600
    # The same address on IPv6's terms: another client, unaffected.
    other = {"X-Forwarded-For": "2001:db8::7", **key.headers}
    assert (await client.get(queue, headers=other)).status == 200
    # A right key counts no failure: a moderator signing in all day is never stopped.
    for _ in range(5):
        assert (await client.get(queue, headers=other)).status == 200
    # What Redis holds is a keyed hash of the address, never the address.
    names = [k.decode() async for k in rds.scan_iter(match="*signin*")]
    assert len(names) == 1
    assert "203.0.113.9" not in names[0]
    assert await rds.ttl(names[0]) > 0
