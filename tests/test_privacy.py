"""Invariant 4, no private data leaks, and the public read's paging and
caching: public answers never carry an email, an IP or anything derived from
them; Redis holds IPs and captcha answers only as keyed hashes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from typing import Any

import pytest
import redis.asyncio as aioredis

from service.http.state import KEYRING
from tests.helpers import (
    ORIGIN,
    THREAD,
    Client,
    approve,
    form_submission,
    keys_of,
    mint,
    rate_limits,
    redis_values,
    site,
    stored,
    submission,
    submit_ok,
    wrong_answer,
)

URL = "/v1/sites/news/comments"
READ = f"/v1/sites/news/threads/{THREAD}/comments"
CLIENT_IP = "127.0.0.1"
READERS = [
    ("Nguyễn Thị Thùy Dương", "thuyduong.nguyen.4417@example.vn"),
    ("Trần Văn An", "An.Tran.Van.9921@Example.VN"),
    ("Lê Minh Châu", "chau-le-minh-3308@mail.example.com"),
]


def reader(index: int) -> dict[str, str]:
    name, email = READERS[index]
    return {"name": name, "email": email}


async def submit(client: Client, site_id: str = "news", **overrides: Any) -> Any:
    [captcha] = await mint(client, site_id)
    return await client.post(f"/v1/sites/{site_id}/comments", json=submission(captcha, **overrides))


def public_text(response: Any, body: bytes) -> str:
    """All a client sees of an answer: status line aside, headers and body."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return headers + "\n" + body.decode("utf-8", "replace")


def forbidden_in_public(comments: list[dict[str, str]]) -> set[str]:
    """What a public answer must never contain: emails, the IP, and the
    hashes derived from them (in full or as a recognisable prefix)."""
    out = {CLIENT_IP}
    for comment in comments:
        email = comment["email"]
        out |= {email, email.lower(), email.split("@")[0], email.split("@")[0].lower()}
        for name in ("ip_hash", "email_hash"):
            value = comment[name]
            assert len(value) >= 16, (name, value)
            out |= {value, value[:10]}
    return out


# ------------------------------------------------ public answers leak nothing


async def seed_pool(rds: aioredis.Redis, client: Client) -> None:
    """One pre-rendered challenge in the pool, so that issuing one is a pop."""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
    challenge_id = "pooled-challenge-000001"
    digest = client.app[KEYRING].captcha_answer("news", challenge_id, "K7P2M")
    await rds.rpush(keys_of(client).captcha_pool, f"{challenge_id} {digest} {png}")


async def test_public_answers_never_carry_email_ip_or_their_hashes(make_client, rds) -> None:
    client = await make_client(sites={"news": site(moderation="first-comment")})
    seen: list[str] = []

    async def record(response: Any) -> Any:
        seen.append(public_text(response, await response.read()))
        return response

    ids = []
    for index in range(3):
        response = await record(await submit(client, author=reader(index)))
        assert response.status == 202
        ids.append((await response.json())["id"])
    for comment_id in ids[:2]:
        assert await approve(client, comment_id)
    # A trusted author, published at once, with an Idempotency-Key.
    [captcha] = await mint(client)
    body = submission(captcha, author=reader(0), parent_id=ids[0], body="Trả lời.")
    response = await record(await client.post(URL, json=body, headers={"Idempotency-Key": "i-1"}))
    assert (await response.json())["status"] == "approved"
    await record(await client.post(URL, json=body, headers={"Idempotency-Key": "i-1"}))
    # A form post: the outcome travels in the Location.
    [captcha] = await mint(client)
    fields = form_submission(
        captcha,
        name=READERS[1][0],
        email=READERS[1][1],
        body="Gửi từ biểu mẫu.",
        return_to=f"{ORIGIN}/bai-viet",
    )
    response = await record(await client.post(URL, data=fields, allow_redirects=False))
    assert response.status == 303
    # Refusals, each naming a reader's email in its request.
    [c1, c2] = await mint(client, count=2)
    wrong = wrong_answer(c1)
    assert (
        await record(await client.post(URL, json=submission(wrong, author=reader(2))))
    ).status == 400
    ghost = "01J00000000000000000000000"
    reply = submission(c2, author=reader(2), parent_id=ghost)
    assert (await record(await client.post(URL, json=reply))).status == 404
    # The other public routes.
    await seed_pool(rds, client)
    assert (await record(await client.post("/v1/sites/news/captchas"))).status == 201
    assert (await record(await client.get("/v1/sites/news/config"))).status == 200
    page = await record(await client.get(READ))
    # Two approved, a trusted reply, and a form post by a now trusted author.
    assert len((await page.json())["comments"]) == 4
    assert (await record(await client.get(READ + "?limit=1"))).status == 200

    comments = [await stored(rds, client, i) for i in ids]
    assert {c["email"].lower() for c in comments} == {e.lower() for _, e in READERS}
    forbidden = forbidden_in_public(comments)
    forbidden.add(client.app[KEYRING].ip_hash("news", CLIENT_IP))
    for text in seen:
        for secret in forbidden:
            assert secret.lower() not in text.lower(), (secret, text)


async def test_public_comment_has_only_public_fields(make_client) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    parent = await submit_ok(client, author=reader(0), status="approved")
    await submit_ok(client, author=reader(1), parent_id=parent, status="approved")
    response = await client.get(READ)
    data = await response.json()
    assert set(data) == {"comments", "next", "total"}
    assert len(data["comments"]) == 2
    for comment in data["comments"]:
        assert set(comment) == {"id", "parent_id", "author", "body_html", "created_at"}
        assert set(comment["author"]) == {"name"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", comment["created_at"])
    assert [c["author"]["name"] for c in data["comments"]] == [READERS[0][0], READERS[1][0]]
    assert [c["parent_id"] for c in data["comments"]] == [None, parent]


# --------------------------------------------------------- Redis at rest


async def test_redis_never_holds_the_client_ip_in_clear(make_client, rds) -> None:
    client = await make_client(
        sites={
            "news": site(
                rate_limits=rate_limits(
                    submit_per_ip=(3, 3600), submit_per_email=(100, 60), captcha_per_ip=(100, 60)
                )
            )
        }
    )
    first = await submit_ok(client, author=reader(0))
    [captcha] = await mint(client)
    response = await client.post(
        URL, json=submission(captcha, author=reader(1)), headers={"Idempotency-Key": "k"}
    )
    assert response.status == 202
    [captcha] = await mint(client)
    fields = form_submission(
        captcha, name="Lê", email=READERS[2][1], body="Biểu mẫu.", return_to=f"{ORIGIN}/x"
    )
    assert (await client.post(URL, data=fields, allow_redirects=False)).status == 303
    assert (await submit(client)).status == 429  # the IP limit of 3 is reached
    [captcha] = await mint(client)
    wrong = wrong_answer(captcha)
    assert (await client.post(URL, json=submission(wrong))).status == 429
    await seed_pool(rds, client)
    assert (await client.post("/v1/sites/news/captchas")).status == 201
    assert await approve(client, first)

    values = await redis_values(rds)
    assert len(values) > 20
    for value in values:
        assert CLIENT_IP.encode() not in value, value
    # What is stored instead: the keyed, per-site hash.
    comment = await stored(rds, client, first)
    keyring = client.app[KEYRING]
    assert comment["ip_hash"] == keyring.ip_hash("news", CLIENT_IP)
    unkeyed = {
        hashlib.sha256(CLIENT_IP.encode()).hexdigest(),
        hashlib.sha1(CLIENT_IP.encode()).hexdigest(),  # noqa: S324
        hashlib.md5(CLIENT_IP.encode()).hexdigest(),  # noqa: S324
    }
    for digest in unkeyed:
        assert comment["ip_hash"] not in digest
        assert all(digest[:16].encode() not in value for value in values)


async def test_ip_hash_is_per_site(make_client, rds) -> None:
    client = await make_client(sites={"news": site(), "sport": site()})
    news = await submit_ok(client, "news")
    sport = await submit_ok(client, "sport")
    news_hash = (await rds.hget(keys_of(client, "news").comment(news), "ip_hash")).decode()
    sport_hash = (await rds.hget(keys_of(client, "sport").comment(sport), "ip_hash")).decode()
    assert news_hash and sport_hash
    assert news_hash != sport_hash


async def test_captcha_answers_are_never_in_redis_in_clear(client, rds) -> None:
    minted = await mint(client, count=12)
    typed: dict[str, str] = {}
    ids: list[str] = []
    for index, (captcha_id, answer) in enumerate(minted[:4]):
        typed[captcha_id] = f" {answer[:2].lower()} {answer[2:].lower()} "
        body = submission((captcha_id, typed[captcha_id]), body=f"Bình luận {index}")
        response = await client.post(URL, json=body)
        assert response.status == 202, await response.text()
        ids.append((await response.json())["id"])
    for captcha_id, _ in minted[4:6]:
        typed[captcha_id] = "WRNG2"
        response = await client.post(URL, json=submission((captcha_id, "WRNG2")))
        assert response.status == 400

    keyring = client.app[KEYRING]
    live = await rds.hgetall(keys_of(client).captcha_live)
    # The challenges not yet answered are held as HMACs of their answers...
    assert {k.decode(): v.decode() for k, v in live.items()} == {
        captcha_id: keyring.captcha_answer("news", captcha_id, answer)
        for captcha_id, answer in minted[6:]
    }
    # ...and no answer, as minted or as typed, is anywhere in Redis.
    values = await redis_values(rds)
    for comment_id in ids:  # ids are random base32: a 5-letter answer could hide in one
        values = [v.replace(comment_id.encode(), b"") for v in values]
    for captcha_id, answer in minted:
        for form in {answer, typed.get(captcha_id, answer).strip()}:
            assert all(form.encode() not in v for v in values), form


# -------------------------------------------------------- paging and caching


async def read(client: Client, query: str = "", **headers: str) -> Any:
    return await client.get(READ + query, headers=headers)


async def test_public_read_is_paged_oldest_first(client, rds) -> None:
    ids = []
    for index in range(5):
        ids.append(await submit_ok(client, body=f"Bình luận số {index}"))
        await asyncio.sleep(0.002)  # ids order by millisecond
    held = await submit_ok(client, body="Chưa duyệt")
    elsewhere = await submit_ok(client, thread="another-article")
    for comment_id in [*reversed(ids), elsewhere]:
        assert await approve(client, comment_id)

    whole = await (await read(client)).json()
    assert [c["id"] for c in whole["comments"]] == ids
    assert whole["next"] is None
    assert held not in [c["id"] for c in whole["comments"]]

    pages, cursor = [], None
    for _ in range(10):
        response = await read(client, f"?limit=2&after={cursor}" if cursor else "?limit=2")
        assert response.status == 200
        page = await response.json()
        pages.append([c["id"] for c in page["comments"]])
        cursor = page["next"]
        if cursor is None:
            break
        assert cursor == pages[-1][-1]
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    bodies = [c["body_html"] for c in whole["comments"]]
    assert bodies == [f"<p>Bình luận số {i}</p>" for i in range(5)]
    assert whole["total"] == 5  # neither the held comment nor another thread's

    newest, cursor = [], None
    for _ in range(10):
        query = "?order=newest&limit=2" + (f"&after={cursor}" if cursor else "")
        page = await (await read(client, query)).json()
        newest.append([c["id"] for c in page["comments"]])
        assert page["total"] == 5
        cursor = page["next"]
        if cursor is None:
            break
    assert newest == [ids[4:2:-1], ids[2:0:-1], ids[0:1]]


async def test_exact_page_boundary(client) -> None:
    ids = []
    for _ in range(4):
        ids.append(await submit_ok(client))
        await asyncio.sleep(0.002)
    for comment_id in ids:
        assert await approve(client, comment_id)
    first = await (await read(client, "?limit=2")).json()
    second = await (await read(client, f"?limit=2&after={first['next']}")).json()
    assert [c["id"] for c in second["comments"]] == ids[2:]
    if second["next"] is not None:  # a cursor at the very end must lead to an empty last page
        last = await (await read(client, f"?limit=2&after={second['next']}")).json()
        assert last == {"comments": [], "next": None, "total": 4}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=x", "limit"),
        ("?after=x", "after"),
        ("?order=random", "order"),
    ],
)
async def test_bad_paging_parameters(client, query: str, field: str) -> None:
    response = await read(client, query)
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    data = await response.json(content_type=None)
    assert data["type"] == "/problems/validation-failed"
    assert field in {e["field"] for e in data["errors"]}


async def test_read_of_an_empty_or_unknown_thread(client) -> None:
    response = await client.get("/v1/sites/news/threads/no-comments-yet/comments")
    assert response.status == 200
    assert await response.json() == {"comments": [], "next": None, "total": 0}
    response = await client.get("/v1/sites/nope/threads/x/comments")
    assert response.status == 404
    assert (await response.json(content_type=None))["type"] == "/problems/unknown-site"


async def test_etag_and_304(client) -> None:
    first = await submit_ok(client)
    assert await approve(client, first)
    response = await read(client)
    assert response.status == 200
    etag = response.headers["ETag"]
    assert re.fullmatch(r'(W/)?"[^"]+"', etag)
    cache_control = response.headers["Cache-Control"]
    assert "max-age=" in cache_control
    assert "private" not in cache_control and "no-store" not in cache_control
    again = await read(client)
    assert again.headers["ETag"] == etag

    for if_none_match in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        cached = await read(client, **{"If-None-Match": if_none_match})
        assert cached.status == 304, if_none_match
        assert await cached.read() == b""
        assert cached.headers["ETag"] == etag
        assert "Cache-Control" in cached.headers
    stale = await read(client, **{"If-None-Match": '"not-the-etag"'})
    assert stale.status == 200
    assert len((await stale.json())["comments"]) == 1

    # An approval elsewhere does not change this thread...
    other = await submit_ok(client, thread="another-article")
    assert await approve(client, other)
    assert (await read(client, **{"If-None-Match": etag})).status == 304
    # ...another approval in it does.
    second = await submit_ok(client, body="Bình luận thứ hai")
    assert (await read(client, **{"If-None-Match": etag})).status == 304  # still pending
    assert await approve(client, second)
    fresh = await read(client, **{"If-None-Match": etag})
    assert fresh.status == 200
    assert fresh.headers["ETag"] != etag
    assert [c["id"] for c in (await fresh.json())["comments"]] == [first, second]


async def test_etag_differs_between_pages(client) -> None:
    ids = []
    for _ in range(3):
        ids.append(await submit_ok(client))
        await asyncio.sleep(0.002)
    for comment_id in ids:
        assert await approve(client, comment_id)
    whole = await read(client)
    paged = await read(client, "?limit=1")
    assert whole.headers["ETag"] != paged.headers["ETag"]
    assert (
        await read(client, "?limit=1", **{"If-None-Match": whole.headers["ETag"]})
    ).status == 200


async def test_a_page_whose_comments_stay_changes_with_the_thread_count(client) -> None:
    """The first page holds the same comment after a later one is approved,
    but its body's "total" does not: the ETag must not say "unchanged"."""
    ids = []
    for _ in range(3):
        ids.append(await submit_ok(client))
        await asyncio.sleep(0.002)
    for comment_id in ids[:2]:
        assert await approve(client, comment_id)
    first = await read(client, "?limit=1")
    assert (await first.json())["total"] == 2
    assert await approve(client, ids[2])
    again = await read(client, "?limit=1", **{"If-None-Match": first.headers["ETag"]})
    assert again.status == 200
    assert (await again.json())["total"] == 3


async def test_the_leak_check_reads_every_kind_of_value(rds) -> None:
    """The Redis checks above are only as good as `redis_values`: it must find
    a value inside each type, not just in key names."""
    marker = CLIENT_IP.encode()
    await rds.set("t:string", b"x" + marker)
    await rds.hset("t:hash", b"f", b"y" + marker)
    await rds.hset("t:hash-field", marker, b"z")
    await rds.rpush("t:list", b"a", marker)
    await rds.sadd("t:set", marker)
    await rds.zadd("t:zset", {marker: 1})
    await rds.xadd("t:stream", {b"ip": marker})
    values = await redis_values(rds)
    for key in (b"t:string", b"t:hash", b"t:hash-field", b"t:list", b"t:set", b"t:zset"):
        assert key in values
    assert sum(marker in value for value in values) == 7
