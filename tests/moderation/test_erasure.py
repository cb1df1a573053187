"""Erasure (issue 3, item 9; the contract's invariant 4): every comment, queue
entry, index and stored email of one address removed, by the API and by
`loibinh erase`; afterwards a SCAN and DUMP of every key finds the email,
its parts and the author's name nowhere."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from service.http.state import KEYRING, SERVICES, SETTINGS
from service.main import create_app
from service.store.ratelimit import SUBMIT_IP
from tests.helpers import (
    Client,
    approve,
    author,
    bearer,
    decide,
    eventually,
    forms,
    keys_of,
    mint,
    new_key,
    public_ids,
    redis_contents,
    settings_for,
    site,
    submission,
    submit_ok,
)
from tests.redis_process import PersistentRedis

MOD = "/v1/sites/news/moderation"
# The author to erase: as typed in the form, and as the service stores it
# (email-validator lower-cases the domain and keeps the local part).
NAME = "Quách Thị Xoá Sạch"
EMAIL_TYPED = "Xoa.Sach.Erase@Erase-Me.Example.VN"
EMAIL_STORED = "Xoa.Sach.Erase@erase-me.example.vn"
LOCAL, DOMAIN = EMAIL_STORED.split("@")
AUTHOR = author(EMAIL_TYPED, NAME)
# Another author, whose reply must survive.
OTHER_NAME = "Trần Văn An"
OTHER_EMAIL = "an.tran.other@example.vn"
LOOPBACK_HOOK = "http://127.0.0.1:9/never-called"


@pytest.fixture
async def client(make_client: Callable[..., Awaitable[Client]]) -> Client:
    """Webhooks configured but not delivered, so deliveries wait in the outbox."""
    hook = {"name": "cms", "url": LOOPBACK_HOOK, "secret": "s" * 32}
    return await make_client(
        sites={"news": site(webhooks=[hook], reports_threshold=1)}, deliver_webhooks=False
    )


# ------------------------------------------------------ the leak check


def needles(email_hash: str) -> dict[str, set[bytes]]:
    """What must be found nowhere, compared case-insensitively for the email."""
    return {
        "email": {EMAIL_STORED.lower().encode(), EMAIL_TYPED.lower().encode()},
        "local part": {LOCAL.lower().encode()},
        "domain": {DOMAIN.lower().encode()},
        "name": forms(NAME),
        "email hash": {email_hash.encode()},
    }


async def leaks(rds: aioredis.Redis, email_hash: str) -> list[str]:
    found = []
    for key, blob in await redis_contents(rds, dumps=True):
        lowered = blob.lower()
        for what, variants in needles(email_hash).items():
            if any(v in blob or v.lower() in lowered for v in variants):
                found.append(f"{what} in {key.decode(errors='replace')}")
    return sorted(set(found))


async def found_anywhere(rds: aioredis.Redis, text: str) -> bool:
    variants = forms(text)
    return any(
        any(v in blob for v in variants) for _, blob in await redis_contents(rds, dumps=True)
    )


# --------------------------------------------------------- the scenario


async def populate(client: Client) -> dict[str, Any]:
    """Comments of the author in every state, with a reply by another author,
    a ban of the email, waiting webhook deliveries and an idempotent retry."""
    admin = await bearer(client)
    pending = [await submit_ok(client, author=AUTHOR, body=f"Đang chờ {i}.") for i in range(2)]
    published = await submit_ok(client, author=AUTHOR, body="Sẽ được đăng.")
    assert await approve(client, published)
    rejected = await submit_ok(client, author=AUTHOR, body="Sẽ bị từ chối.")
    await decide(client, admin, rejected, "reject")
    reported = await submit_ok(client, author=AUTHOR, body="Sẽ bị báo cáo.")
    assert await approve(client, reported)
    report = await client.post(
        f"/v1/sites/news/comments/{reported}/reports", json={"reason": "spam"}
    )
    assert report.status == 202
    idem = {"Idempotency-Key": "retry-1234"}
    [captcha] = await mint(client)
    body = submission(captcha, author=AUTHOR, body="Gửi lại.")
    first = await client.post("/v1/sites/news/comments", json=body, headers=idem)
    again = await client.post("/v1/sites/news/comments", json=body, headers=idem)
    assert first.status == again.status == 202
    idempotent = (await first.json())["id"]
    assert (await again.json())["id"] == idempotent

    reply = await submit_ok(
        client, author=author(OTHER_EMAIL, OTHER_NAME), parent_id=published, body="Tôi đồng ý."
    )
    assert await approve(client, reply)
    ban = await client.post(
        f"{MOD}/bans", json={"email": EMAIL_TYPED, "reason": "thử"}, headers=admin
    )
    assert ban.status == 201

    # The author's comments are in every queue, and webhook deliveries
    # carrying them wait in the outbox.
    keys = keys_of(client)
    services = client.app[SERVICES]
    queue = await (await client.get(f"{MOD}/queue?state=reported", headers=admin)).json()
    assert [i["id"] for i in queue["items"]] == [reported]
    assert queue["counts"] == {
        "pending": 3,
        "reported": 1,
        "approved": 2,
        "rejected": 1,
        "spam": 0,
    }
    assert await services.redis.hlen(keys.outbox) > 0
    mine = {pending[0], pending[1], published, rejected, reported, idempotent}
    assert await public_ids(client) == [published, reported, reply]
    return {"admin": admin, "mine": mine, "reply": reply, "published": published}


async def assert_erased(client: Client, rds: aioredis.Redis, scenario: dict[str, Any]) -> None:
    email_hash = client.app[KEYRING].email_hash("news", EMAIL_STORED)
    assert await leaks(rds, email_hash) == []
    # The leak check sees what it looks for: the other author is all there.
    assert await found_anywhere(rds, OTHER_NAME)
    assert await found_anywhere(rds, OTHER_EMAIL)

    admin, reply = scenario["admin"], scenario["reply"]
    assert await public_ids(client) == [reply]
    detail = await client.get(f"{MOD}/comments/{reply}", headers=admin)
    assert detail.status == 200
    kept = await detail.json()
    assert kept["author"] == {"name": OTHER_NAME, "email": OTHER_EMAIL, "user_id": None}
    assert kept["parent_id"] == scenario["published"]
    assert kept["status"] == "approved"
    assert kept["published"] is True
    for comment_id in scenario["mine"]:
        response = await client.get(f"{MOD}/comments/{comment_id}", headers=admin)
        assert response.status == 404, comment_id
    queue = await (await client.get(f"{MOD}/queue?state=approved", headers=admin)).json()
    assert [i["id"] for i in queue["items"]] == [reply]
    assert queue["counts"] == {
        "pending": 0,
        "reported": 0,
        "approved": 1,
        "rejected": 0,
        "spam": 0,
    }
    bans = await (await client.get(f"{MOD}/bans", headers=admin)).json()
    assert EMAIL_STORED.lower() not in json.dumps(bans).lower()
    # The waiting deliveries of the erased comments are gone; the reply's stay.
    outbox = await rds.hgetall(keys_of(client).outbox)
    assert outbox
    for raw in outbox.values():
        comment = json.loads(json.loads(raw)["body"])["comment"]
        assert comment["id"] not in scenario["mine"]


async def test_erasure_by_the_api_leaves_no_trace(client, rds) -> None:
    scenario = await populate(client)
    email_hash = client.app[KEYRING].email_hash("news", EMAIL_STORED)
    # Before: the check finds every needle, so finding none afterwards means something.
    before = await leaks(rds, email_hash)
    for what in needles(email_hash):
        assert any(line.startswith(what + " in ") for line in before), what

    # The address the comments came from has rate-limit state under its hash.
    address_key = keys_of(client).rate(SUBMIT_IP, client.app[KEYRING].ip_hash("news", "127.0.0.1"))
    assert await rds.exists(address_key)

    key = await new_key(client, "admin", name="Chị Hoa")
    admin = key.headers
    response = await client.post(
        f"{MOD}/erasures", json={"email": EMAIL_STORED.upper()}, headers=admin
    )
    assert response.status == 200, await response.text()
    assert await response.json() == {"erased_comments": 6}
    assert not await rds.exists(address_key)

    await assert_erased(client, rds, scenario)

    audit = await (await client.get(f"{MOD}/audit", headers=admin)).json()
    erasures = [e for e in audit["entries"] if e["action"] == "erasure"]
    assert len(erasures) == 1
    [tombstone] = erasures
    assert tombstone["key"] == key.id
    assert tombstone["moderator"] == "Chị Hoa"
    assert tombstone["comment"] is None
    text = json.dumps(audit, ensure_ascii=False).lower()
    for needle in (EMAIL_STORED.lower(), LOCAL.lower(), DOMAIN.lower(), NAME.lower()):
        assert needle not in text

    # Erasing again finds nothing more to remove.
    again = await client.post(f"{MOD}/erasures", json={"email": EMAIL_TYPED}, headers=admin)
    assert await again.json() == {"erased_comments": 0}
    assert await public_ids(client) == [scenario["reply"]]


async def test_erasure_needs_an_admin_and_an_email(client, rds) -> None:
    scenario = await populate(client)
    moderator = await bearer(client, "moderator")
    response = await client.post(f"{MOD}/erasures", json={"email": EMAIL_STORED}, headers=moderator)
    assert response.status == 403
    for bad in ({"email": "not an email"}, {"email": ""}, {}, {"email": ["a@b.vn"]}):
        response = await client.post(f"{MOD}/erasures", json=bad, headers=scenario["admin"])
        assert response.status == 422, bad
        assert (await response.json())["type"] == "/problems/validation-failed"
    # Nothing was erased.
    ids = await public_ids(client)
    assert len(ids) == 3
    email_hash = client.app[KEYRING].email_hash("news", EMAIL_STORED)
    assert await rds.scard(keys_of(client).author(email_hash)) == 6


async def test_erasure_by_the_command_line_leaves_no_trace(client, rds, cli) -> None:
    scenario = await populate(client)
    done = await cli("erase", "--site", "news", "--email", EMAIL_TYPED)
    assert done.returncode == 0, done.stderr
    assert "erased 6 comments" in done.stdout
    # Another process erased: the app's copy of the thread read may show the
    # thread as it was for public_revalidate_seconds (docs/operations.md).
    await asyncio.sleep(client.app[SETTINGS].public_revalidate_seconds)
    await assert_erased(client, rds, scenario)
    audit = await (await client.get(f"{MOD}/audit", headers=scenario["admin"])).json()
    [tombstone] = [e for e in audit["entries"] if e["action"] == "erasure"]
    assert tombstone["key"] == "cli"


@pytest.mark.parametrize("email", ["not an email", "", "@example.vn"])
async def test_the_command_line_refuses_a_bad_email(client, rds, cli, email) -> None:
    await submit_ok(client, author=AUTHOR)
    done = await cli("erase", "--site", "news", "--email", email)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "erased" not in done.stdout
    email_hash = client.app[KEYRING].email_hash("news", EMAIL_STORED)
    assert await rds.scard(keys_of(client).author(email_hash)) == 1


# ------------------------------------------------------------- on disk


def disk_leaks(files: dict[str, bytes], email_hash: str) -> list[str]:
    found = []
    for name, blob in files.items():
        lowered = blob.lower()
        for what, variants in needles(email_hash).items():
            if what != "email hash" and any(v.lower() in lowered for v in variants):
                found.append(f"{what} in {name}")
    return sorted(set(found))


async def info(rds: aioredis.Redis, field: str) -> int:
    return int((await rds.info("persistence"))[field])


@pytest.fixture
async def persistent() -> AsyncIterator[tuple[PersistentRedis, aioredis.Redis]]:
    with PersistentRedis() as server:
        connection = aioredis.Redis.from_url(server.url)
        try:
            yield server, connection
        finally:
            await connection.aclose()


async def disk_client(
    aiohttp_client: Callable[..., Awaitable[Client]], server: PersistentRedis
) -> Client:
    hook = {"name": "cms", "url": LOOPBACK_HOOK, "secret": "s" * 32}
    settings = settings_for(server.url, sites={"news": site(webhooks=[hook], reports_threshold=1)})
    return await aiohttp_client(create_app(settings, refill_captchas=False, deliver_webhooks=False))


async def test_erasure_leaves_nothing_in_the_aof_or_rdb_files(aiohttp_client, persistent) -> None:
    server, rds = persistent
    client = await disk_client(aiohttp_client, server)
    scenario = await populate(client)
    # A snapshot taken now holds the author too.
    saves = await info(rds, "rdb_saves")
    await rds.bgsave()

    async def saved() -> bool:
        return await info(rds, "rdb_saves") > saves and not await info(
            rds, "rdb_bgsave_in_progress"
        )

    await eventually(saved, "the snapshot", within=30)
    email_hash = client.app[KEYRING].email_hash("news", EMAIL_STORED)
    before = disk_leaks(server.files(), email_hash)
    # The search sees what it looks for, in both kinds of file.
    assert any(".aof" in line for line in before), before
    assert any(".rdb" in line for line in before), before

    response = await client.post(
        f"{MOD}/erasures", json={"email": EMAIL_TYPED}, headers=scenario["admin"]
    )
    assert response.status == 200, await response.text()
    # The answer comes once the files are rewritten: nothing to wait for here.
    files = server.files()
    assert disk_leaks(files, email_hash) == [], sorted(files)
    # The other author's comment is still on disk: the files were rewritten, not emptied.
    assert any(OTHER_NAME.encode() in blob for blob in files.values())
    await assert_erased(client, rds, scenario)


async def test_a_burst_of_erasures_shares_rewrites(aiohttp_client, persistent) -> None:
    server, rds = persistent
    client = await disk_client(aiohttp_client, server)
    admin = await bearer(client)
    emails = [f"burst.{i}@erase-me.example.vn" for i in range(6)]
    for email in emails:
        await submit_ok(client, author=author(email, "Người Vội Vàng"))
    rewrites, saves = await info(rds, "aof_rewrites"), await info(rds, "rdb_saves")

    async def erase(email: str) -> int:
        response = await client.post(f"{MOD}/erasures", json={"email": email}, headers=admin)
        assert response.status == 200, await response.text()
        return int((await response.json())["erased_comments"])

    assert await asyncio.gather(*(erase(e) for e in emails)) == [1] * len(emails)
    # The first erasure's rewrite, then one more for all that came during it.
    assert 1 <= await info(rds, "aof_rewrites") - rewrites <= 2
    assert 1 <= await info(rds, "rdb_saves") - saves <= 2
    blobs = b"".join(server.files().values())
    assert b"erase-me.example.vn" not in blobs
    assert "Người Vội Vàng".encode() not in blobs
