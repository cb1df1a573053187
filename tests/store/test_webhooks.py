"""Signed webhooks from the Redis outbox (issue 3, item 8), delivered to a
local receiver: at least once, across restarts of the service, with backoff,
dead letters after the last attempt, and a requeue for admins."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from service.http.state import KEYRING, SERVICES
from service.main import create_app
from service.settings import Settings
from service.store.keyschema import SiteKeys
from tests.helpers import (
    Client,
    author,
    bearer,
    decide,
    eventually,
    keys_of,
    local_server,
    scrape,
    site,
    submit_ok,
)

SECRET = "s" * 32
EMAIL = "duong@example.vn"
MOD = "/v1/sites/news/moderation"
FAST = {
    "backoff_base_seconds": 0.05,
    "backoff_max_seconds": 0.2,
    "poll_interval_seconds": 0.05,
    "lease_seconds": 1,
    "max_attempts": 5,
}
WAIT_SECONDS = 8.0
STOP_SECONDS = 5.0


# ------------------------------------------- what a receiver would write


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """Check a Loibinh-Signature header (`t=<unix seconds>,v1=<hex>`)."""
    try:
        fields = dict(part.strip().split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False  # too old (or from the future): a replay
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


# ------------------------------------------------------- the receiver


@dataclass
class Hit:
    delivery: str
    event: str
    signature: str
    body: bytes
    status: int  # 0: never answered (the sender went away first)
    generation: int = 0

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    # The status to answer: a function of how often this delivery was seen.
    answer: Callable[[int], int] = lambda tries: 200
    # While set, requests hang until it is released, and then fail.
    hang: asyncio.Event | None = None
    # Which run of the service the hits come from, for the restart test.
    generation: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        delivery = request.headers.get("Loibinh-Delivery", "")
        tries = sum(1 for hit in self.hits if hit.delivery == delivery) + 1
        hang = self.hang
        status = 0 if hang is not None else self.answer(tries)
        self.hits.append(
            Hit(
                delivery=delivery,
                event=request.headers.get("Loibinh-Event", ""),
                signature=request.headers.get("Loibinh-Signature", ""),
                body=body,
                status=status,
                generation=self.generation,
            )
        )
        if hang is not None:
            await hang.wait()
            status = 500
        return web.Response(status=status, text="ok" if status < 300 else "failed")

    def delivered(self) -> list[Hit]:
        return [hit for hit in self.hits if 200 <= hit.status < 300]

    def delivered_events(self) -> list[str]:
        return [hit.event for hit in self.delivered()]

    def tries(self, delivery: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.delivery == delivery]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    async with local_server("/hook", state.handle) as server:
        state.url = str(server.make_url("/hook"))
        yield state


@pytest.fixture
def webhook_settings(
    make_settings: Callable[..., Settings], receiver: Receiver
) -> Callable[..., Settings]:
    def make(reports_threshold: int = 1, **webhooks: Any) -> Settings:
        hook = {"name": "cms", "url": receiver.url, "secret": SECRET}
        return make_settings(
            sites={"news": site(webhooks=[hook], reports_threshold=reports_threshold)},
            webhooks={**FAST, **webhooks},
        )

    return make


@pytest.fixture
async def start(
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """A service with its webhook delivery running (the `client` fixture's
    app would deliver too, but to no receiver). Each is stopped at the end
    with the bounded `stop`."""
    started: list[Client] = []

    async def make(settings: Settings, *, deliver: bool = True) -> Client:
        app = create_app(settings, refill_captchas=False, deliver_webhooks=deliver)
        client = await aiohttp_client(app)
        started.append(client)
        return client

    yield make
    failures = []
    for client in started:
        try:
            await stop(client)
        except AssertionError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


async def stop(client: Client) -> None:
    """Stop a service as a restart (or SIGTERM) would; its state stays in Redis.

    Bounded: a service whose background task outlives its cancellation would
    otherwise hang the test run for ever. Then the task is cancelled once
    more, so that the run goes on, and the test fails saying so."""
    closing = asyncio.ensure_future(client.close())
    await asyncio.wait({closing}, timeout=STOP_SECONDS)
    if closing.done():
        closing.result()
        return
    for task in asyncio.all_tasks():
        if task.get_name() == "webhook-delivery":
            task.cancel()
    await asyncio.wait({closing}, timeout=STOP_SECONDS)
    raise AssertionError(
        f"the service did not stop within {STOP_SECONDS} s: its webhook-delivery task "
        "kept running after it was cancelled"
    )


async def connection_ids(rds: aioredis.Redis) -> set[str]:
    return {str(entry["id"]) for entry in await rds.client_list()}


async def outbox_empties(rds: aioredis.Redis, keys: SiteKeys) -> None:
    """Delivered deliveries are forgotten (settled just after the receiver answers)."""

    async def left() -> dict[str, int]:
        return {"deliveries": await rds.hlen(keys.outbox), "due": await rds.zcard(keys.outbox_due)}

    empty = {"deliveries": 0, "due": 0}
    await eventually(left, "an empty outbox", until=lambda held: held == empty, within=WAIT_SECONDS)


def events_for(receiver: Receiver, comment_id: str) -> list[str]:
    return [h.event for h in receiver.delivered() if h.payload["comment"]["id"] == comment_id]


# ------------------------------------------------------------- tests


def test_the_verification_example_rejects_what_it_should() -> None:
    body = b'{"event":"comment.submitted"}'
    now = int(time.time())
    good = (
        f"t={now},v1=" + hmac.new(SECRET.encode(), f"{now}.".encode() + body, "sha256").hexdigest()
    )
    assert verify(SECRET, good, body)
    assert not verify(SECRET, good, body + b" ")
    assert not verify("x" * 32, good, body)
    assert not verify(SECRET, good.replace(f"t={now}", f"t={now - 1}"), body)
    stale = now - 3600
    old = (
        f"t={stale},v1="
        + hmac.new(SECRET.encode(), f"{stale}.".encode() + body, "sha256").hexdigest()
    )
    assert not verify(SECRET, old, body)
    assert not verify(SECRET, "garbage", body)


async def test_every_event_is_delivered_signed_and_without_private_data(
    webhook_settings, start, receiver, rds
) -> None:
    client = await start(webhook_settings(reports_threshold=1))
    moderator = await bearer(client, "moderator")
    approved = await submit_ok(client, body="Sẽ được duyệt.")
    rejected = await submit_ok(client, author=author("an.tran@example.vn"), body="Sẽ bị từ chối.")
    await eventually(
        receiver.delivered_events,
        "comment.submitted of both comments",
        until=lambda got: len(got) >= 2,
        within=WAIT_SECONDS,
    )
    assert events_for(receiver, approved) == ["comment.submitted"]
    assert events_for(receiver, rejected) == ["comment.submitted"]

    await decide(client, moderator, approved, "approve", reason="lý do")
    await decide(client, moderator, rejected, "reject", reason="lý do")
    await eventually(
        receiver.delivered_events,
        "the decisions",
        until=lambda got: len(got) >= 4,
        within=WAIT_SECONDS,
    )
    response = await client.post(
        f"/v1/sites/news/comments/{approved}/reports", json={"reason": "quảng cáo"}
    )
    assert response.status == 202
    await eventually(
        receiver.delivered_events,
        "comment.reported",
        until=lambda got: len(got) >= 5,
        within=WAIT_SECONDS,
    )

    assert events_for(receiver, approved) == [
        "comment.submitted",
        "comment.approved",
        "comment.reported",
    ]
    assert events_for(receiver, rejected) == ["comment.submitted", "comment.rejected"]

    keyring = client.app[KEYRING]
    private = [
        EMAIL,
        "an.tran@example.vn",
        "127.0.0.1",
        keyring.ip_hash("news", "127.0.0.1"),
        keyring.email_hash("news", EMAIL),
        keyring.email_hash("news", "an.tran@example.vn"),
    ]
    for hit in receiver.hits:
        assert verify(SECRET, hit.signature, hit.body), hit
        # A body changed on the way no longer verifies.
        tampered = hit.body.replace(b"comment.", b"Comment.", 1)
        assert tampered != hit.body
        assert not verify(SECRET, hit.signature, tampered)
        assert not verify("t" * 32, hit.signature, hit.body)
        payload = hit.payload
        assert payload["event"] == hit.event
        assert payload["site"] == "news"
        assert payload["thread"] == "ca-mau-2022-08-12"
        assert set(payload["comment"]) == {"id", "parent_id", "author", "body_html", "created_at"}
        assert set(payload["comment"]["author"]) == {"name"}
        text = hit.body.decode() + hit.signature + hit.delivery
        lowered = text.lower()
        for secret in private:
            assert secret.lower() not in lowered, (secret, text)
    statuses = {h.payload["comment"]["id"]: h.payload["status"] for h in receiver.delivered()}
    assert statuses[rejected] == "rejected"
    reported = [h for h in receiver.delivered() if h.event == "comment.reported"]
    assert reported[0].payload["reason"] == "quảng cáo"
    await outbox_empties(rds, keys_of(client))


async def test_a_receiver_failing_twice_gets_the_event_on_the_third_try(
    webhook_settings, start, receiver, rds
) -> None:
    receiver.answer = lambda tries: 500 if tries <= 2 else 200
    client = await start(webhook_settings())
    comment_id = await submit_ok(client)
    await eventually(
        receiver.delivered_events,
        "the third try",
        until=lambda got: len(got) == 1,
        within=WAIT_SECONDS,
    )
    [delivered] = receiver.delivered()
    tries = receiver.tries(delivered.delivery)
    assert [hit.status for hit in tries] == [500, 500, 200]
    assert tries == receiver.hits
    for hit in tries:
        assert hit.event == "comment.submitted"
        assert hit.payload["comment"]["id"] == comment_id
        assert hit.body == delivered.body  # the same event, retried
        assert verify(SECRET, hit.signature, hit.body)
    await outbox_empties(rds, keys_of(client))
    await asyncio.sleep(0.3)  # nothing more is sent once it was delivered
    assert len(receiver.hits) == 3
    dead = await client.get(f"{MOD}/webhooks/dead", headers=await bearer(client))
    assert (await dead.json())["deliveries"] == []


async def test_no_event_is_lost_when_the_service_restarts_between_tries(
    webhook_settings, start, receiver, rds
) -> None:
    """Four events, and four runs of the service on the same Redis: one that
    records the events and delivers nothing; one stopped while its requests
    are in flight (its worker "dies mid-delivery"); one whose tries fail;
    one whose tries succeed. Each event reaches the receiver in the end."""
    settings = webhook_settings(max_attempts=20)

    recorder = await start(settings, deliver=False)
    moderator = await bearer(recorder, "moderator")
    ids = [await submit_ok(recorder, body=f"Bình luận số {i}.") for i in range(3)]
    await decide(recorder, moderator, ids[0], "approve", reason="lý do")
    await stop(recorder)
    assert receiver.hits == []
    assert await rds.hlen(keys_of(recorder).outbox) == 4

    def tried_in(generation: int) -> set[str]:
        return {hit.delivery for hit in receiver.hits if hit.generation == generation}

    # 1: every delivery is taken and in flight when the service goes away.
    receiver.generation, receiver.hang = 1, asyncio.Event()
    first = await start(settings)
    await eventually(
        lambda: tried_in(1),
        "every event in flight",
        until=lambda tried: len(tried) == 4,
        within=WAIT_SECONDS,
    )
    await stop(first)
    receiver.hang.set()
    receiver.hang = None
    await asyncio.sleep(0.1)
    assert {hit.generation for hit in receiver.hits} == {1}  # no one sends now

    # 2: the restarted service takes them again once their lease is over; they fail.
    receiver.generation = 2
    receiver.answer = lambda tries: 500
    second = await start(settings)
    await eventually(
        lambda: tried_in(2),
        "a failed try of every event",
        until=lambda tried: len(tried) == 4,
        within=WAIT_SECONDS,
    )
    await stop(second)

    # 3: the next run delivers them.
    receiver.generation = 3
    receiver.answer = lambda tries: 200
    third = await start(settings)
    await eventually(
        receiver.delivered_events,
        "every event delivered",
        until=lambda got: len(got) >= 4,
        within=WAIT_SECONDS,
    )
    keys = keys_of(third)
    await outbox_empties(rds, keys)
    await stop(third)

    delivered = receiver.delivered()
    got = {(h.payload["comment"]["id"], h.event) for h in delivered}
    assert got == {(i, "comment.submitted") for i in ids} | {(ids[0], "comment.approved")}
    assert len({hit.delivery for hit in receiver.hits}) == 4
    for delivery in {hit.delivery for hit in receiver.hits}:
        tries = receiver.tries(delivery)
        assert {hit.generation for hit in tries} == {1, 2, 3}
        assert tries[-1].status == 200
        assert {hit.body for hit in tries} == {tries[0].body}  # the same event every time
        for hit in tries:
            assert verify(SECRET, hit.signature, hit.body)
    assert await rds.zcard(keys.outbox_dead) == 0


async def test_a_dead_delivery_is_listed_and_can_be_retried(
    webhook_settings, start, receiver, rds
) -> None:
    receiver.answer = lambda tries: 500
    client = await start(webhook_settings(max_attempts=5))
    admin = await bearer(client)
    comment_id = await submit_ok(client)

    async def dead() -> list[dict[str, Any]]:
        response = await client.get(f"{MOD}/webhooks/dead", headers=admin)
        assert response.status == 200, await response.text()
        return list((await response.json())["deliveries"])

    [letter] = await eventually(dead, "the delivery to go dead", within=WAIT_SECONDS, interval=0.05)
    assert letter["event"] == "comment.submitted"
    assert letter["target"] == "cms"
    assert letter["attempts"] == 5
    assert letter["last_error"] == "HTTP 500"
    await asyncio.sleep(0.3)  # dead means no more tries
    tries = receiver.tries(letter["id"])
    assert len(tries) == 5
    assert receiver.hits == tries
    assert receiver.delivered() == []

    # Only admins see or retry dead letters.
    moderator = await bearer(client, "moderator")
    assert (await client.get(f"{MOD}/webhooks/dead", headers=moderator)).status == 403
    retry = f"{MOD}/webhooks/dead/{letter['id']}/retry"
    assert (await client.post(retry, headers=moderator)).status == 403
    assert len(receiver.hits) == 5
    missing = await client.post(f"{MOD}/webhooks/dead/no-such-delivery/retry", headers=admin)
    assert missing.status == 404

    receiver.answer = lambda tries: 200
    response = await client.post(retry, headers=admin)
    assert response.status == 202, await response.text()
    await eventually(
        receiver.delivered_events,
        "the retried delivery",
        until=lambda got: len(got) == 1,
        within=WAIT_SECONDS,
    )
    [delivered] = receiver.delivered()
    assert delivered.delivery == letter["id"]
    assert delivered.payload["comment"]["id"] == comment_id
    assert verify(SECRET, delivered.signature, delivered.body)
    assert await dead() == []
    await outbox_empties(rds, keys_of(client))
    await asyncio.sleep(0.2)
    assert len(receiver.delivered()) == 1


async def test_stopping_the_service_closes_its_redis_connections(
    webhook_settings, start, receiver, rds
) -> None:
    """A restarted service must not leave its old connections behind."""
    before = await connection_ids(rds)
    client = await start(webhook_settings())
    await submit_ok(client)
    await eventually(
        receiver.delivered_events,
        "the delivery",
        until=lambda got: len(got) == 1,
        within=WAIT_SECONDS,
    )
    # Readers at once: the service needs several connections, so some sit
    # idle in its pool when it stops.
    read = "/v1/sites/news/threads/ca-mau-2022-08-12/comments"
    answers = await asyncio.gather(*(client.get(read) for _ in range(8)))
    assert {answer.status for answer in answers} == {200}
    mine = await connection_ids(rds) - before
    assert len(mine) >= 2
    await stop(client)

    async def still_open() -> set[str]:
        return mine & await connection_ids(rds)

    try:
        # Two seconds for the server to see them go.
        await eventually(
            still_open,
            f"its {len(mine)} Redis connections to close",
            until=lambda left: not left,
            within=2,
            interval=0.05,
        )
    finally:
        # Should the service leak them, close them here so that the leak fails
        # this test alone rather than the whole run at garbage collection.
        await client.app[SERVICES].redis.connection_pool.aclose()


async def test_deliveries_are_counted_in_the_metrics(webhook_settings, start, receiver) -> None:
    """Each attempt's outcome: retried after a failure, delivered, or dead."""
    receiver.answer = lambda tries: 500 if tries <= 2 else 200
    client = await start(webhook_settings(max_attempts=3))
    await submit_ok(client)

    async def counted() -> dict[str, float]:
        return {
            labels["outcome"]: value
            for name, labels, value in await scrape(client)
            if name == "loibinh_webhook_deliveries_total" and labels["site"] == "news"
        }

    assert await eventually(
        counted, "the delivery", until=lambda c: "delivered" in c, within=WAIT_SECONDS
    ) == {"retry": 2, "delivered": 1}
    receiver.answer = lambda tries: 500
    await submit_ok(client, author=author("an@example.vn", "An"))
    assert await eventually(
        counted, "the dead letter", until=lambda c: "dead" in c, within=WAIT_SECONDS
    ) == {"retry": 4, "delivered": 1, "dead": 1}
