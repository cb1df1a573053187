"""The local image captcha (the contract's invariant 3, issue 2 item 4): issuing
from the pre-rendered pool, the pool's refill by worker processes, the issue
rate limit, answers kept only as keyed hashes, single use and expiry, the
answer alphabet, minting, and an event loop that rendering never blocks.

Rendering runs in spawned processes, which cost a start-up each; tests that
only need a challenge with a known answer render it in this process with
`render_batch` (recording the answers it draws) and put it in the pool, so
the service's issue path serves it without spawning anything."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import random
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from service.captcha import render as captcha_render
from service.http.state import SERVICES, SETTINGS
from service.keyring import Keyring
from service.main import create_app
from service.models import CAPTCHA_ID_PATTERN
from service.settings import Settings
from tests.helpers import (
    ORIGIN,
    TEST_SECRET,
    Client,
    eventually,
    expect_problem,
    form_submission,
    keys_of,
    mint,
    rate_limits,
    redis_contents,
    redis_now_ms,
    site,
    submission,
)
from tests.redis_process import RedisProcess

MakeClient = Callable[..., Awaitable[Client]]
AiohttpClient = Callable[..., Any]

DATA_URI = "data:image/png;base64,"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEX_DIGEST = re.compile(rb"^[0-9a-f]{32}$")
# The image's answer and the spoken one (tests/captcha/test_audio.py).
DIGESTS = re.compile(rb"^[0-9a-f]{32}:[0-9a-f]{32}$")
COMMENTS = "/v1/sites/{}/comments"
CAPTCHAS = "/v1/sites/{}/captchas"


def redis_of(client: Client) -> Redis:
    return client.app[SERVICES].redis


def render_known(settings: Settings, site_id: str, count: int) -> list[tuple[bytes, str]]:
    """Pool entries rendered here by the service's own render_batch, each with
    the answer it drew (the worker processes never reveal theirs)."""
    answers: list[str] = []
    draw = captcha_render.new_answer

    def recording() -> str:
        answer = draw()
        answers.append(answer)
        return answer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(captcha_render, "new_answer", recording)
        entries = captcha_render.render_batch(
            settings.secret, site_id, count, settings.captcha.width, settings.captcha.height
        )
    return list(zip(entries, answers, strict=True))


async def stock_pool(client: Client, count: int, site_id: str = "news") -> list[tuple[str, str]]:
    """Push `count` challenges with known answers to the site's pool: (id, answer)."""
    settings = client.app[SETTINGS]
    rendered = render_known(settings, site_id, count)
    await redis_of(client).rpush(keys_of(client, site_id).captcha_pool, *[e for e, _ in rendered])
    return [(entry.split(b" ", 1)[0].decode(), answer) for entry, answer in rendered]


async def issue_known(client: Client, count: int, site_id: str = "news") -> list[tuple[str, str]]:
    """Challenges issued over HTTP from the pool, whose answers the test knows."""
    stocked = await stock_pool(client, count, site_id)
    for expected_id, _ in stocked:
        response = await client.post(CAPTCHAS.format(site_id))
        assert response.status == 201, await response.text()
        assert (await response.json())["id"] == expected_id
    return stocked


async def submit(client: Client, captcha: tuple[str, str], site_id: str = "news") -> Any:
    return await client.post(COMMENTS.format(site_id), json=submission(captcha))


async def metric(client: Client, name: str, **labels: str) -> float:
    """A sample's value from /metrics; 0 for a labelled series never touched."""
    text = await (await client.get("/metrics")).text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def decode_image(uri: str) -> bytes:
    assert uri.startswith(DATA_URI), uri[:40]
    return base64.b64decode(uri.removeprefix(DATA_URI), validate=True)


async def pending_count(client: Client) -> int:
    return int(await redis_of(client).zcard(keys_of(client).pending))


async def pool_reaches(client: Client, size: int) -> None:
    """Wait up to 15 s for the site's pool to hold `size` challenges."""
    await eventually(
        lambda: redis_of(client).llen(keys_of(client).captcha_pool),
        f"the pool to hold {size} challenges",
        until=lambda level: level == size,
        within=15,
    )


# --- the HTTP route -----------------------------------------------------------------


async def test_issue_returns_a_fresh_png_challenge(make_client: MakeClient) -> None:
    # Not the defaults (600 s, 200x70, 30/min), so that each is seen to come from the settings.
    client = await make_client(
        captcha={
            "pool_size": 5,
            "pool_low_water": 2,
            "render_batch": 5,
            "ttl_seconds": 120,
            "width": 240,
            "height": 90,
        },
        sites={"news": site(rate_limits=rate_limits(captcha_per_ip=(40, 60)))},
    )
    redis, keys = redis_of(client), keys_of(client)
    await client.app[SERVICES].captcha.refill_once("news")
    head = (await redis.lindex(keys.captcha_pool, 0)).split(b" ", 3)

    before = await redis_now_ms(redis)
    response = await client.post("/v1/sites/news/captchas")
    after = await redis_now_ms(redis)

    assert response.status == 201, await response.text()
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["RateLimit-Policy"] == '"captcha-ip";q=40;w=60'
    assert re.fullmatch(r'"captcha-ip";r=39;t=\d+', response.headers["RateLimit"])
    body = await response.json()
    assert set(body) == {"kind", "id", "image", "audio_url", "expires_in", "form_token"}
    assert body["kind"] == "image"
    assert re.fullmatch(CAPTCHA_ID_PATTERN, body["id"])
    assert re.fullmatch(r"f1\.\d+\.[0-9a-f]{16}\.[0-9a-f]{24}", body["form_token"])
    assert body["audio_url"] == f"/v1/sites/news/captchas/{body['id']}/audio"
    assert body["expires_in"] == 120

    png = decode_image(body["image"])
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == (240, 90)
        # 16 colours: a few KB for every reader to download, not the ~10 KB of true colour.
        assert image.mode == "P" and len(image.getcolors() or []) <= 16
    assert len(png) < 5000, len(png)

    # It is the head of the pool, popped, and live for exactly the configured ttl.
    assert body["id"] == head[0].decode()
    assert png == base64.b64decode(head[2])
    assert await redis.llen(keys.captcha_pool) == 4
    assert await redis.hget(keys.captcha_live, body["id"]) == head[1]
    expiry = await redis.zscore(keys.captcha_expiry, body["id"])
    assert expiry is not None
    assert before + 120_000 <= expiry <= after + 120_000


async def test_issue_for_an_unknown_site_is_404(client: Client) -> None:
    response = await client.post("/v1/sites/nope/captchas")
    body = await expect_problem(response, 404, "unknown-site")
    assert "nope" in body["detail"]
    assert not [key async for key in redis_of(client).scan_iter()]


async def test_get_on_the_issue_route_is_405(client: Client) -> None:
    response = await client.get("/v1/sites/news/captchas")
    await expect_problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["Allow"]
    assert not [key async for key in redis_of(client).scan_iter()]


# --- the pool ---------------------------------------------------------------------------


async def test_background_refill_fills_the_pool_and_issuing_pops_from_it(
    make_client: MakeClient,
) -> None:
    # An hour between rounds: every refill after the first is one that issuing
    # woke. It also keeps the worker idle when the app closes, out of the way of
    # test_the_refill_worker_stops_when_cancelled.
    client = await make_client(
        captcha={
            "pool_size": 5,
            "pool_low_water": 2,
            "render_batch": 5,
            "refill_interval_seconds": 3600,
        },
        refill_captchas=True,
    )
    redis, keys = redis_of(client), keys_of(client)

    await pool_reaches(client, 5)  # filled in the background at start
    pool = await redis.lrange(keys.captcha_pool, 0, -1)
    for entry in pool:
        challenge_id, digest, b64, wav = entry.split(b" ", 3)
        assert re.fullmatch(CAPTCHA_ID_PATTERN, challenge_id.decode())
        assert DIGESTS.match(digest)
        assert base64.b64decode(b64).startswith(PNG_SIGNATURE)
        assert wav.startswith(b"RIFF")
    assert await metric(client, "loibinh_captcha_pool_level", site="news") == 5
    assert await metric(client, "loibinh_captcha_rendered_total", site="news") == 5

    # Issuing pops the head: the pool shrinks by one and nothing is rendered.
    issued = []
    for expected in pool[:4]:
        response = await client.post("/v1/sites/news/captchas")
        assert response.status == 201, await response.text()
        body = await response.json()
        assert body["id"] == expected.split(b" ")[0].decode()
        issued.append(body["id"])
        if len(issued) == 1:
            assert await redis.llen(keys.captcha_pool) == 4
            assert await metric(client, "loibinh_captcha_pool_level", site="news") == 4
    assert await metric(client, "loibinh_captcha_pool_empty_total", site="news") == 0

    # Below the low-water mark, issuing wakes the worker, which tops the pool up
    # with new challenges, to pool_size and no further.
    await pool_reaches(client, 5)
    refilled = [
        entry.split(b" ")[0].decode() for entry in await redis.lrange(keys.captcha_pool, 0, -1)
    ]
    assert len(refilled) == 5
    assert refilled[0] == pool[4].split(b" ")[0].decode()
    assert not set(refilled) & set(issued)
    assert await metric(client, "loibinh_captcha_rendered_total", site="news") == 9


async def test_refill_once_tops_the_pool_up_to_its_size(make_client: MakeClient) -> None:
    client = await make_client(captcha={"pool_size": 5, "pool_low_water": 2, "render_batch": 2})
    captcha, redis, keys = client.app[SERVICES].captcha, redis_of(client), keys_of(client)

    assert await captcha.refill_once("news") == 5  # batches of 2, 2 and 1
    assert await redis.llen(keys.captcha_pool) == 5
    assert await captcha.refill_once("news") == 0  # above the low-water mark
    for _ in range(2):
        assert (await client.post("/v1/sites/news/captchas")).status == 201
    assert await captcha.refill_once("news") == 0  # 3 left: still above it
    assert (await client.post("/v1/sites/news/captchas")).status == 201
    assert await captcha.refill_once("news") == 3  # 2 left: at it
    assert await redis.llen(keys.captcha_pool) == 5
    assert await metric(client, "loibinh_captcha_pool_level", site="news") == 5

    # Another service worker holding the site's refill lock: this one leaves it be.
    await redis.delete(keys.captcha_pool)
    await redis.set(keys.captcha_refill_lock, b"1", px=60_000)
    assert await captcha.refill_once("news") == 0
    assert await redis.llen(keys.captcha_pool) == 0
    await redis.delete(keys.captcha_refill_lock)
    assert await captcha.refill_once("news") == 5
    assert not await redis.exists(keys.captcha_refill_lock)


async def test_an_empty_pool_still_issues_and_counts_it(client: Client) -> None:
    redis, keys = redis_of(client), keys_of(client)
    assert await redis.llen(keys.captcha_pool) == 0
    assert await metric(client, "loibinh_captcha_pool_empty_total", site="news") == 0

    response = await client.post("/v1/sites/news/captchas")
    assert response.status == 201, await response.text()
    body = await response.json()
    png = decode_image(body["image"])
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (200, 70)  # the default size
    assert DIGESTS.match(await redis.hget(keys.captcha_live, body["id"]))
    assert await redis.zscore(keys.captcha_expiry, body["id"]) is not None
    assert body["expires_in"] == client.app[SETTINGS].captcha.ttl_seconds
    assert await metric(client, "loibinh_captcha_pool_empty_total", site="news") == 1
    assert await metric(client, "loibinh_captcha_rendered_total", site="news") == 1

    response = await client.post("/v1/sites/news/captchas")
    assert response.status == 201
    assert (await response.json())["id"] != body["id"]
    assert await metric(client, "loibinh_captcha_pool_empty_total", site="news") == 2


async def test_the_same_image_is_never_served_twice(make_client: MakeClient) -> None:
    client = await make_client(captcha={"pool_size": 20, "pool_low_water": 5, "render_batch": 10})
    captcha = client.app[SERVICES].captcha

    bodies = []
    for _ in range(2):
        assert await captcha.refill_once("news") == 20
        # 25 at once from a pool of 20: 20 pops and 5 rendered on demand.
        responses = await asyncio.gather(
            *[client.post("/v1/sites/news/captchas") for _ in range(25)]
        )
        assert [r.status for r in responses] == [201] * 25
        bodies += [await r.json() for r in responses]

    ids = [body["id"] for body in bodies]
    images = [hashlib.sha256(decode_image(body["image"])).digest() for body in bodies]
    assert len(set(ids)) == 50
    assert len(set(images)) == 50
    assert await metric(client, "loibinh_captcha_pool_empty_total", site="news") == 10
    live = await redis_of(client).hkeys(keys_of(client).captcha_live)
    assert {key.decode() for key in live if b"/" not in key} == set(ids)


# --- rate limit ---------------------------------------------------------------------


async def test_issuing_is_rate_limited_per_client(make_client: MakeClient) -> None:
    client = await make_client(
        sites={"news": site(), "tight": site(rate_limits=rate_limits(captcha_per_ip=(3, 60)))}
    )
    redis, keys = redis_of(client), keys_of(client, "tight")
    await stock_pool(client, 5, "tight")

    for remaining in (2, 1, 0):
        response = await client.post("/v1/sites/tight/captchas")
        assert response.status == 201, await response.text()
        assert response.headers["RateLimit-Policy"] == '"captcha-ip";q=3;w=60'
        assert re.fullmatch(rf'"captcha-ip";r={remaining};t=\d+', response.headers["RateLimit"])

    response = await client.post("/v1/sites/tight/captchas")
    await expect_problem(response, 429, "rate-limited")
    # 3 per 60 s: one more is allowed 20 s after the burst.
    assert 15 <= int(response.headers["Retry-After"]) <= 20
    assert response.headers["RateLimit-Policy"] == '"captcha-ip";q=3;w=60'
    assert re.fullmatch(r'"captcha-ip";r=0;t=\d+', response.headers["RateLimit"])
    # A refused request takes nothing from the pool and renders nothing.
    assert await redis.llen(keys.captcha_pool) == 2
    assert await redis.hlen(keys.captcha_live) == 3
    assert await metric(client, "loibinh_captcha_pool_empty_total", site="tight") == 0

    # The limit is the client's: another address is still served.
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as other,
        other.post(client.make_url("/v1/sites/tight/captchas")) as response,
    ):
        assert response.status == 201, await response.text()
        assert re.fullmatch(r'"captcha-ip";r=2;t=\d+', response.headers["RateLimit"])
    # And another site's limit is its own.
    assert (await client.post("/v1/sites/news/captchas")).status == 201


# --- answers kept only as keyed hashes -------------------------------------------------


async def test_answers_are_stored_only_as_keyed_hashes(client: Client) -> None:
    redis, keys = redis_of(client), keys_of(client)
    keyring = Keyring.from_secret(TEST_SECRET)
    other_keyring = Keyring.from_secret("another-secret-0123456789-abcdefghijklmnop")

    issued = await issue_known(client, 4)
    leftover = await stock_pool(client, 2)  # rendered, still waiting in the pool
    minted = await mint(client, count=6)
    response = await submit(client, minted[0])  # one answered: a comment is stored
    assert response.status == 202, await response.text()
    assert (await submit(client, (minted[1][0], "WRONG"))).status == 400

    contents = await redis_contents(redis, dumps=True)
    seen = {key for key, _ in contents}
    for key in (keys.captcha_pool, keys.captcha_live, keys.captcha_expiry, keys.pending):
        assert key.encode() in seen  # the scan saw what it had to see
    everything = [blob for _, blob in contents]
    for _, answer in issued + leftover + minted:
        for form in (answer, answer.lower()):
            leaks = [blob[:80] for blob in everything if form.encode() in blob]
            assert not leaks, f"answer {form!r} in clear in Redis: {leaks}"

    live = await redis.hgetall(keys.captcha_live)
    still_live = issued + minted[2:]
    assert {k.decode() for k in live} == {challenge_id for challenge_id, _ in still_live}
    for challenge_id, answer in still_live:
        stored = live[challenge_id.encode()]
        assert stored == keyring.captcha_answer("news", challenge_id, answer).encode()
        assert stored != other_keyring.captcha_answer("news", challenge_id, answer).encode()
        assert stored != hashlib.sha256(answer.encode()).hexdigest()[:32].encode()
    for entry in await redis.lrange(keys.captcha_pool, 0, -1):
        challenge_id, digest, _ = entry.split(b" ")
        answer = dict(leftover)[challenge_id.decode()]
        assert digest == keyring.captcha_answer("news", challenge_id.decode(), answer).encode()


# --- single use and expiry ----------------------------------------------------------------


@pytest.mark.parametrize("source", ["issued", "minted"])
async def test_a_right_answer_works_once(client: Client, source: str) -> None:
    [captcha] = await issue_known(client, 1) if source == "issued" else await mint(client)
    response = await submit(client, captcha)
    assert response.status == 202, await response.text()
    assert (await response.json())["status"] == "pending"
    assert not await redis_of(client).hexists(keys_of(client).captcha_live, captcha[0])
    assert await redis_of(client).zscore(keys_of(client).captcha_expiry, captcha[0]) is None

    response = await submit(client, captcha)
    await expect_problem(response, 400, "captcha-failed")
    assert await pending_count(client) == 1


@pytest.mark.parametrize("source", ["issued", "minted"])
async def test_a_wrong_answer_consumes_the_challenge(client: Client, source: str) -> None:
    [captcha] = await issue_known(client, 1) if source == "issued" else await mint(client)
    challenge_id, answer = captcha
    wrong = next(c for c in captcha_render.ALPHABET if c != answer[0]) + answer[1:]
    response = await submit(client, (challenge_id, wrong))
    await expect_problem(response, 400, "captcha-failed")
    assert not await redis_of(client).hexists(keys_of(client).captcha_live, challenge_id)

    response = await submit(client, captcha)
    await expect_problem(response, 400, "captcha-failed")
    assert await pending_count(client) == 0


async def test_concurrent_answers_to_one_challenge_succeed_once(client: Client) -> None:
    [captcha] = await mint(client)
    responses = await asyncio.gather(*[submit(client, captcha) for _ in range(30)])
    assert sorted(r.status for r in responses) == [202] + [400] * 29
    assert await pending_count(client) == 1


async def test_an_unknown_challenge_fails(client: Client) -> None:
    response = await submit(client, ("A" * 22, "ABCDE"))
    await expect_problem(response, 400, "captcha-failed")
    assert await pending_count(client) == 0


@pytest.mark.parametrize("source", ["issued", "minted"])
async def test_an_expired_challenge_fails(client: Client, source: str) -> None:
    redis, keys = redis_of(client), keys_of(client)
    [captcha, control] = (
        await issue_known(client, 2) if source == "issued" else await mint(client, count=2)
    )
    now = await redis_now_ms(redis)
    ttl_ms = client.app[SETTINGS].captcha.ttl_seconds * 1000
    for challenge_id, _ in (captcha, control):
        expiry = await redis.zscore(keys.captcha_expiry, challenge_id)
        assert expiry is not None
        assert now + ttl_ms - 5_000 <= expiry <= now + ttl_ms
    # The minimum ttl is 30 s: move this challenge's expiry into the past instead.
    assert await redis.zadd(keys.captcha_expiry, {captcha[0]: now - 1}, xx=True, ch=True) == 1

    response = await submit(client, captcha)
    body = await expect_problem(response, 400, "captcha-failed")
    assert "expired" in body["detail"]
    assert await pending_count(client) == 0
    assert not await redis.hexists(keys.captcha_live, captcha[0])
    # The one left alone is still good.
    assert (await submit(client, control)).status == 202


async def test_later_issues_clean_expired_challenges_out(client: Client) -> None:
    redis, keys = redis_of(client), keys_of(client)
    expired = await mint(client, count=25)
    fresh = await mint(client, count=3)
    past = await redis_now_ms(redis) - 1000
    await redis.zadd(keys.captcha_expiry, {challenge_id: past for challenge_id, _ in expired})
    assert await redis.hlen(keys.captcha_live) == 28

    [first, second] = await stock_pool(client, 2)
    assert (await client.post("/v1/sites/news/captchas")).status == 201
    # Up to 20 expired dropped per issue; the issued one is live.
    assert await redis.hlen(keys.captcha_live) == 28 - 20 + 1
    assert await redis.zcard(keys.captcha_expiry) == 28 - 20 + 1
    assert (await client.post("/v1/sites/news/captchas")).status == 201
    live = {k.decode() for k in await redis.hkeys(keys.captcha_live)}
    assert live == {first[0], second[0]} | {challenge_id for challenge_id, _ in fresh}
    members = {m.decode() for m in await redis.zrange(keys.captcha_expiry, 0, -1)}
    assert members == live


# --- answers -------------------------------------------------------------------------------


def test_the_alphabet_has_no_look_alikes() -> None:
    alphabet = captcha_render.ALPHABET
    assert not set("0O1IL") & set(alphabet)
    assert len(set(alphabet)) == len(alphabet)
    assert set(alphabet) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    assert len(alphabet) >= 28  # only the five look-alikes are left out
    answers = [captcha_render.new_answer() for _ in range(1000)]
    assert all(len(answer) == 5 for answer in answers)
    assert set("".join(answers)) == set(alphabet)  # 5,000 draws reach every character
    assert len(set(answers)) > 990  # random, not a short cycle


@pytest.mark.parametrize(
    "typed",
    [
        lambda a: a.lower(),
        lambda a: f"{a[:2]} {a[2:]}",
        lambda a: f" {a[0]} {a[1:3].lower()}\t{a[3:]} ",
    ],
    ids=["lower-case", "space-inside", "mixed"],
)
async def test_answers_ignore_case_and_spaces(client: Client, typed: Callable[[str], str]) -> None:
    [(challenge_id, answer)] = await mint(client)
    assert typed(answer) != answer
    response = await submit(client, (challenge_id, typed(answer)))
    assert response.status == 202, await response.text()
    assert await pending_count(client) == 1


async def test_a_form_post_answer_ignores_case_and_spaces(client: Client) -> None:
    [(challenge_id, answer)] = await mint(client)
    form = form_submission(
        (challenge_id, f"{answer[:3].lower()} {answer[3:].lower()}"),
        body="Bài viết rất hay.",
        return_to=f"{ORIGIN}/bai-viet",
    )
    response = await client.post("/v1/sites/news/comments", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    outcome = parse_qs(urlsplit(response.headers["Location"]).query)
    assert outcome["lb_status"] == ["pending"]
    assert await pending_count(client) == 1


# --- mint ------------------------------------------------------------------------------------


async def test_mint_gives_distinct_challenges_each_usable_once(client: Client) -> None:
    minted = await client.app[SERVICES].captcha.mint("news", 20)
    assert len(minted) == 20
    assert len({challenge_id for challenge_id, _ in minted}) == 20
    for challenge_id, answer in minted:
        assert re.fullmatch(CAPTCHA_ID_PATTERN, challenge_id)
        assert len(answer) == 5
        assert set(answer) <= set(captcha_render.ALPHABET)
    first = await asyncio.gather(*[submit(client, captcha) for captcha in minted])
    assert [r.status for r in first] == [202] * 20
    again = await asyncio.gather(*[submit(client, captcha) for captcha in minted])
    assert [r.status for r in again] == [400] * 20
    assert await pending_count(client) == 20


async def test_mint_stores_large_counts_in_batches(client: Client) -> None:
    redis, keys = redis_of(client), keys_of(client)
    keyring = Keyring.from_secret(TEST_SECRET)
    minted = await client.app[SERVICES].captcha.mint("news", 1001)  # over one script call
    ids = [challenge_id for challenge_id, _ in minted]
    assert len(set(ids)) == 1001
    live = await redis.hgetall(keys.captcha_live)
    assert len(live) == 1001
    assert await redis.zcard(keys.captcha_expiry) == 1001
    for challenge_id, answer in minted:
        assert (
            live[challenge_id.encode()]
            == keyring.captcha_answer("news", challenge_id, answer).encode()
        )
    for index in (0, 999, 1000):
        assert (await submit(client, minted[index])).status == 202
        assert (await submit(client, minted[index])).status == 400


# --- the event loop ------------------------------------------------------------------------


async def max_loop_gap(work: Callable[[], Any]) -> tuple[float, Any]:
    """Run `work` while a ticker sleeps 1 ms at a time; the longest gap seen."""
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        last = loop.time()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            now = loop.time()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.02)
    try:
        result = await work()
    finally:
        await asyncio.sleep(0.02)
        stop.set()
        await ticker
    assert len(gaps) > 5
    return max(gaps), result


async def test_rendering_never_blocks_the_event_loop(make_client: MakeClient) -> None:
    # Batches of 50 are about 200 ms of rendering each: twice the bound, were one
    # rendered on the loop. (At 10 a batch it would be about 40 ms, too close to
    # the scheduling noise of a busy 2-core machine to tell apart.)
    bound = 0.1
    client = await make_client(captcha={"pool_size": 100, "pool_low_water": 10, "render_batch": 50})
    settings = client.app[SETTINGS]
    captcha = client.app[SERVICES].captcha

    async def on_the_loop() -> list[bytes]:
        return captcha_render.render_batch(settings.secret, "news", 50, 200, 70)

    # The meter works: the same batch rendered on the loop is seen.
    blocked, _ = await max_loop_gap(on_the_loop)
    assert blocked > bound, f"control: an on-loop batch only showed a {blocked * 1000:.0f} ms gap"

    async def refill() -> int:
        return await captcha.refill_once("news")

    # The first refill also starts the render process.
    gap, added = await max_loop_gap(refill)
    assert added == 100
    assert await redis_of(client).llen(keys_of(client).captcha_pool) == 100
    assert gap < bound, f"the event loop stalled {gap * 1000:.0f} ms while the pool refilled"


# --- clean-up ----------------------------------------------------------------------------


def render_workers() -> set[int]:
    """Live processes spawned by this one to run multiprocessing work."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == me and state != "Z" and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


async def test_cleanup_stops_the_render_processes(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    before = render_workers()
    client: Client = await aiohttp_client(create_app(settings, refill_captchas=False))
    assert await client.app[SERVICES].captcha.refill_once("news") == 5
    workers = render_workers() - before
    assert len(workers) == settings.captcha.render_processes
    await client.close()
    assert not render_workers() & workers


async def test_the_refill_worker_stops_when_cancelled(make_client: MakeClient) -> None:
    # The app's clean-up cancels the worker and waits for it: a worker that
    # outlives its cancellation hangs the shutdown for ever. With no pause
    # between rounds it spends its time in Redis calls, where the cancel lands.
    client = await make_client(
        captcha={
            "pool_size": 5,
            "pool_low_water": 2,
            "render_batch": 5,
            "refill_interval_seconds": 0.000_001,
        },
    )
    await stock_pool(client, 5)  # full: each round only reads the pool's level
    captcha = client.app[SERVICES].captcha
    for attempt in range(100):
        worker = asyncio.create_task(captcha.run_refill())
        await asyncio.sleep(random.uniform(0, 0.003))
        worker.cancel()
        if not (await asyncio.wait([worker], timeout=0.5))[0]:
            for _ in range(200):  # don't leave it running past the test
                worker.cancel()
                if (await asyncio.wait([worker], timeout=0.05))[0]:
                    break
            pytest.fail(f"cancel #{attempt + 1}: the refill worker went on running")
        assert worker.cancelled()
    assert await redis_of(client).llen(keys_of(client).captcha_pool) == 5


async def test_cleanup_closes_the_redis_connections(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisProcess
) -> None:
    # Left open, the pool's connections are found by the garbage collector in
    # some later test, whose run then fails on their ResourceWarning.
    client: Client = await aiohttp_client(create_app(settings, refill_captchas=False))
    connection_id = str(await redis_of(client).client_id())
    await client.close()
    with redis_server.client() as admin:
        await eventually(
            lambda: {c["id"] for c in admin.client_list()},
            "the app to close its Redis connection",
            until=lambda open_now: connection_id not in open_now,
            within=1,
        )
