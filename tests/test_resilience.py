"""Invariant 1, the failure half: when Redis is unreachable, submissions get a
503 `unavailable` with Retry-After within the configured Redis timeout, the
process keeps serving, recovers by itself once Redis is back, and nothing is
ever half-written or stored behind a refusal."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from service.http.state import KEYRING, SERVICES
from service.main import create_app
from service.settings import Settings
from service.store.keyschema import SiteKeys
from tests.helpers import (
    THREAD,
    Client,
    author,
    form_token,
    mint,
    rate_limits,
    settings_for,
    site,
    submission,
)
from tests.redis_process import RedisProcess

pytestmark = pytest.mark.slow

CONNECT_TIMEOUT = 0.3
TIMEOUT = 0.3
# What a dead Redis may cost a request: opening a connection and waiting for
# an answer, plus a margin for a loaded test machine.
BUDGET = CONNECT_TIMEOUT + TIMEOUT + 0.4

# What every stored comment holds at least; all comments of a site must also
# hold exactly the same fields, so a half-written one stands out.
COMMENT_FIELDS = {
    b"id",
    b"thread",
    b"parent_id",
    b"name",
    b"email",
    b"body",
    b"ip_hash",
    b"email_hash",
    b"created_at",
    b"status",
    b"public",
}
# Each stored comment sits in exactly one of these queues (`reported` is a
# flag on top of a state, not a state of its own).
NEWS = SiteKeys("lb", "news")
MODERATION_STATES = ("pending", "approved", "rejected", "spam")


@pytest.fixture(autouse=True)
def _collected() -> None:
    """A full garbage collection before each test, so that none falls in
    its timed parts: late in a run one takes a few hundred milliseconds, the
    test process's pause and not the service's."""
    gc.collect()


@pytest.fixture
def durable_redis() -> Iterator[RedisProcess]:
    """This module's own Redis, with AOF, so that a restart keeps the data."""
    with RedisProcess(appendonly=True) as server:
        yield server


@pytest.fixture
def resilient_settings(durable_redis: RedisProcess) -> Settings:
    return settings_for(
        durable_redis.url,
        connect_timeout=CONNECT_TIMEOUT,
        timeout=TIMEOUT,
        sites={
            # One submission per email per hour: a charged limit stays visible
            # in Redis, so a refusal that charged it would show.
            "news": site(rate_limits=rate_limits(submit_per_email=(1, 3600))),
            # Post-moderated: a comment is published unless screening holds it.
            # The learned model is off, so that what these tests make of
            # Redis across a stop does not hang on what the model thinks of
            # their generated text ("Bình luận first số 3").
            "live": site(
                moderation="post",
                rate_limits=rate_limits(submit_per_email=(1, 3600)),
                model={"enabled": False},
            ),
        },
    )


@pytest.fixture
async def app_client(
    aiohttp_client: Callable[..., Any], resilient_settings: Settings
) -> AsyncIterator[Client]:
    yield await aiohttp_client(create_app(resilient_settings, refill_captchas=False))


@dataclass
class Timed:
    status: int
    headers: dict[str, str]
    body: Any
    elapsed: float


async def timed(client: Client, method: str, path: str, **kwargs: Any) -> Timed:
    started = time.perf_counter()
    # A hung request is a failure here, not a hung test run.
    async with asyncio.timeout(10), client.request(method, path, **kwargs) as response:
        text = await response.text()
        elapsed = time.perf_counter() - started
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        return Timed(response.status, dict(response.headers), body, elapsed)


def assert_unavailable(answer: Timed, settings: Settings) -> None:
    assert answer.status == 503, answer.body
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.body["type"] == "/problems/unavailable"
    assert answer.body["status"] == 503
    retry_after = answer.headers["Retry-After"]
    assert retry_after.isdigit(), retry_after
    assert int(retry_after) == settings.retry_after_seconds
    assert answer.elapsed < BUDGET, f"answered in {answer.elapsed:.3f} s, budget {BUDGET} s"


def body_for(captcha: tuple[str, str], n: int, tag: str, site_id: str = "news") -> dict[str, Any]:
    return submission(
        captcha,
        author=author(f"{tag}.{n}@example.vn", f"Trần Văn {tag} {n}"),
        body=f"Bình luận {tag} số {n}.",
        form_token=form_token(site_id),
    )


def stored_comments(server: RedisProcess, site_id: str) -> dict[str, dict[bytes, bytes]]:
    with server.client() as direct:
        return {
            key.decode().rsplit(":", 1)[1]: direct.hgetall(key)
            for key in direct.scan_iter(match=SiteKeys("lb", site_id).comment("*"), count=1000)
        }


def live_captchas(server: RedisProcess, site_id: str) -> set[str]:
    with server.client() as direct:
        return {k.decode() for k in direct.hkeys(SiteKeys("lb", site_id).captcha_live)}


# --- (a) Redis stopped, then restarted on the same port ----------------------------------


async def test_stopped_redis_gives_503_then_recovers_by_itself(
    app_client: Client, durable_redis: RedisProcess, resilient_settings: Settings
) -> None:
    first, during, survivor = await mint(app_client, count=3)
    before = await timed(
        app_client, "POST", "/v1/sites/news/comments", json=body_for(first, 0, "a")
    )
    assert before.status == 202, before.body
    assert (await timed(app_client, "GET", "/readyz")).status == 200

    durable_redis.stop()

    for n in range(3):  # the process keeps answering, every time
        answer = await timed(
            app_client, "POST", "/v1/sites/news/comments", json=body_for(during, n, "a")
        )
        assert_unavailable(answer, resilient_settings)
    issue = await timed(app_client, "POST", "/v1/sites/news/captchas")
    assert_unavailable(issue, resilient_settings)
    page = await timed(app_client, "GET", f"/v1/sites/news/threads/{THREAD}/comments")
    assert_unavailable(page, resilient_settings)
    ready = await timed(app_client, "GET", "/readyz")
    assert ready.status == 503
    assert ready.body["status"] == "unavailable"
    assert ready.body["checks"]["redis"].startswith("unreachable")
    assert ready.headers["Retry-After"].isdigit()
    assert ready.elapsed < BUDGET
    health = await timed(app_client, "GET", "/healthz")
    assert health.status == 200
    config = await timed(app_client, "GET", "/v1/sites/news/config")
    assert config.status == 200

    durable_redis.start()  # same port, same directory: the AOF brings the data back
    accept_sha = app_client.app[SERVICES].scripts.accept.sha
    with durable_redis.client() as direct:
        direct.script_flush()  # whatever Redis kept, the app must load its scripts again
        assert direct.script_exists(accept_sha) == [False]
    assert set(stored_comments(durable_redis, "news")) == {before.body["id"]}

    # No restart of the app, no readiness probe first: the next submission works.
    [fresh] = await mint(app_client)
    after = await timed(app_client, "POST", "/v1/sites/news/comments", json=body_for(fresh, 1, "b"))
    assert after.status == 202, after.body
    with durable_redis.client() as direct:
        assert direct.script_exists(accept_sha) == [True]
        assert direct.zscore(NEWS.pending, after.body["id"]) is not None

    # The challenge answered while Redis was down was never consumed: the 503
    # stored nothing, so it still works.
    retried = await timed(
        app_client, "POST", "/v1/sites/news/comments", json=body_for(during, 9, "c")
    )
    assert retried.status == 202, retried.body
    assert survivor[0] in live_captchas(durable_redis, "news")
    ready = await timed(app_client, "GET", "/readyz")
    assert ready.status == 200
    assert ready.body["checks"]["redis"] == "ok"
    issued = await timed(app_client, "POST", "/v1/sites/news/captchas")
    assert issued.status == 201, issued.body


# --- (b) Redis frozen with SIGSTOP: the port accepts, nothing answers -----------------------


async def test_paused_redis_gives_503_within_the_timeout_then_recovers(
    app_client: Client, durable_redis: RedisProcess, resilient_settings: Settings
) -> None:
    [warm] = await mint(app_client)
    warmup = await timed(app_client, "POST", "/v1/sites/news/comments", json=body_for(warm, 0, "w"))
    assert warmup.status == 202

    [during] = await mint(app_client)
    durable_redis.pause()
    try:
        answer = await timed(
            app_client, "POST", "/v1/sites/news/comments", json=body_for(during, 1, "p")
        )
        assert_unavailable(answer, resilient_settings)
        issue = await timed(app_client, "POST", "/v1/sites/news/captchas")
        assert_unavailable(issue, resilient_settings)
        ready = await timed(app_client, "GET", "/readyz")
        assert ready.status == 503
        assert ready.elapsed < BUDGET
        health = await timed(app_client, "GET", "/healthz")
        assert health.status == 200
        assert health.elapsed < TIMEOUT  # never waits on Redis
    finally:
        durable_redis.resume()

    [fresh] = await mint(app_client)
    after = await timed(app_client, "POST", "/v1/sites/news/comments", json=body_for(fresh, 2, "p"))
    assert after.status == 202, after.body
    assert (await timed(app_client, "GET", "/readyz")).status == 200


async def test_submission_answered_503_while_paused_is_not_stored_after_resume(
    app_client: Client, durable_redis: RedisProcess, resilient_settings: Settings
) -> None:
    """A 503 means nothing was stored (invariant 1), also when the request had
    already reached a frozen Redis: once Redis wakes up it must not accept a
    comment whose client was told it failed."""
    [during] = await mint(app_client)
    durable_redis.pause()
    try:
        answer = await timed(
            app_client, "POST", "/v1/sites/news/comments", json=body_for(during, 1, "late")
        )
    finally:
        durable_redis.resume()
    assert_unavailable(answer, resilient_settings)
    with durable_redis.client() as direct:
        direct.ping()
    await asyncio.sleep(0.3)  # let Redis work through whatever it had received

    assert stored_comments(durable_redis, "news") == {}
    with durable_redis.client() as direct:
        assert direct.zcard(NEWS.pending) == 0
    assert during[0] in live_captchas(durable_redis, "news"), "the 503 consumed the captcha"


# --- (c) nothing half-written across a stop ------------------------------------------------


async def submit_batch(
    client: Client, captchas: list[tuple[str, str]], tag: str
) -> list[tuple[str, dict[str, Any], Timed]]:
    sites = ["news" if n % 2 == 0 else "live" for n in range(len(captchas))]
    bodies = [body_for(c, n, tag, s) for n, (c, s) in enumerate(zip(captchas, sites, strict=True))]
    answers = await asyncio.gather(
        *(
            timed(client, "POST", f"/v1/sites/{s}/comments", json=b)
            for s, b in zip(sites, bodies, strict=True)
        )
    )
    return list(zip(sites, bodies, answers, strict=True))


async def test_nothing_half_written_across_a_stop(
    app_client: Client, durable_redis: RedisProcess, resilient_settings: Settings
) -> None:
    size = 24
    half = size // 2
    # Challenges for the first two batches, made while Redis is up. Even
    # positions submit to `news`, odd ones to `live`.
    before_news = await mint(app_client, "news", size)
    before_live = await mint(app_client, "live", size)

    def pick(news: list[tuple[str, str]], live: list[tuple[str, str]], n: int) -> list[Any]:
        return [news[i] if i % 2 == 0 else live[i] for i in range(n)]

    batch1 = await submit_batch(
        app_client, pick(before_news[:half], before_live[:half], half), "b1"
    )
    assert [a.status for _, _, a in batch1] == [202] * half, [a.body for _, _, a in batch1]

    durable_redis.stop()
    batch2 = await submit_batch(
        app_client, pick(before_news[half:], before_live[half:], half), "b2"
    )
    for _, _, answer in batch2:
        assert_unavailable(answer, resilient_settings)

    durable_redis.start()
    after_news = await mint(app_client, "news", half)
    after_live = await mint(app_client, "live", half)
    batch3 = await submit_batch(app_client, pick(after_news, after_live, half), "b3")
    assert [a.status for _, _, a in batch3] == [202] * half, [a.body for _, _, a in batch3]

    accepted = {
        (s, a.body["id"]): (b, a.body["status"]) for s, b, a in batch1 + batch3 if a.status == 202
    }
    assert len(accepted) == 2 * half
    keyring = app_client.app[KEYRING]
    with durable_redis.client() as direct:
        for site_id, mode in (("news", "pre"), ("live", "post")):
            keys = SiteKeys("lb", site_id)
            stored = stored_comments(durable_redis, site_id)
            mine = {cid for s, cid in accepted if s == site_id}
            shapes = {frozenset(fields) for fields in stored.values()}
            assert len(shapes) == 1, f"comments of {site_id} differ in their fields: {shapes}"
            # Every 202 is stored, and nothing is stored without a 202.
            assert set(stored) == mine
            queues = {
                state: {m.decode() for m in direct.zrange(keys.queue(state), 0, -1)}
                for state in MODERATION_STATES
            }
            published = {m.decode() for m in direct.zrange(keys.thread(THREAD), 0, -1)}
            public = {k.decode() for k in direct.hkeys(keys.thread_public(THREAD))}
            # No queue or thread entry points at a comment that is not there.
            assert set().union(*queues.values()) == mine
            assert published <= mine
            assert public == published
            for cid, fields in stored.items():
                body, status = accepted[(site_id, cid)]
                assert set(fields) >= COMMENT_FIELDS, (cid, COMMENT_FIELDS - set(fields))
                assert fields[b"id"].decode() == cid
                assert fields[b"body"].decode() == body["body"]
                assert fields[b"name"].decode() == body["author"]["name"]
                assert fields[b"email"].decode() == body["author"]["email"]
                assert fields[b"thread"].decode() == THREAD
                assert json.loads(fields[b"public"])["id"] == cid
                # In exactly one moderation state.
                states = [state for state, ids in queues.items() if cid in ids]
                assert len(states) == 1, (cid, states)
                if mode == "pre":
                    assert status == "pending"
                    assert states == ["pending"]
                    assert cid not in published
                else:
                    assert status == "approved"
                    assert cid in published

        # The refused batch changed nothing: its challenges are still live and
        # its authors' rate limits were never charged; the accepted ones were.
        for site_id, body, answer in batch2:
            assert answer.status == 503
            assert body["captcha"]["id"] in live_captchas(durable_redis, site_id)
            email_hash = keyring.email_hash(site_id, body["author"]["email"])
            assert not direct.exists(SiteKeys("lb", site_id).rate("submit-email", email_hash))
        for site_id, body, answer in batch1 + batch3:
            assert answer.status == 202
            assert body["captcha"]["id"] not in live_captchas(durable_redis, site_id)
            email_hash = keyring.email_hash(site_id, body["author"]["email"])
            assert direct.exists(SiteKeys("lb", site_id).rate("submit-email", email_hash))


async def test_process_keeps_serving_through_repeated_outages(
    app_client: Client, durable_redis: RedisProcess, resilient_settings: Settings
) -> None:
    for round_ in range(2):
        durable_redis.stop()
        answers = await asyncio.gather(
            *(timed(app_client, "POST", "/v1/sites/news/captchas") for _ in range(10))
        )
        for answer in answers:
            assert_unavailable(answer, resilient_settings)
        durable_redis.start()
        [captcha] = await mint(app_client)
        ok = await timed(
            app_client, "POST", "/v1/sites/news/comments", json=body_for(captcha, round_, "r")
        )
        assert ok.status == 202, ok.body
