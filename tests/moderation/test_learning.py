"""The model that learns from the moderators (issue 12), end to end through
the moderation API on a real Redis: decisions become training examples, one
learner learns them in order and publishes versions, every worker picks a new
version up, a reversed decision is corrected, and an admin can reset, freeze
and exclude. No personal data goes into what the model keeps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from service.http.state import SERVICES
from service.moderation.learning import Learner, SiteModels, recommend
from service.screening.model import base_model, extract
from tests.helpers import (
    Client,
    Key,
    author,
    eventually,
    keys_of,
    mint,
    new_key,
    redis_contents,
    site,
    submission,
    submit_ok,
)
from tests.moderation.helpers import submit, url
from tests.redis_process import RedisProcess
from tests.store.test_cluster_keys import Monitor

# A word no list and no corpus has: what the model knows of it, it learned here.
NOVEL = "xquorblat"
SPAM_BODIES = [f"Mua ngay {NOVEL} giá rẻ, ưu đãi số {n} hôm nay" for n in range(12)]
CLEAN_BODIES = [f"Cảm ơn tác giả, bài viết số {n} về giao thông rất hữu ích" for n in range(12)]


def probe(model_of: Callable[[], object]) -> float:
    """The probability a worker's current model gives a new comment with the novel word."""
    model = model_of()
    return model.probability(extract("Trần Văn Nam", f"Ai cần {NOVEL} thì liên hệ nhé"))  # type: ignore[attr-defined]


async def decide_all(client: Client, key: Key, ids: list[str], action: str) -> None:
    response = await client.post(
        url("/decisions"),
        json={"decisions": [{"id": i, "action": action, "reason": ""} for i in ids]},
        headers=key.headers,
    )
    assert response.status == 200, await response.text()
    assert {r["status"] for r in (await response.json())["results"]} == {200}


async def submit_each(client: Client, bodies: list[str], email: str) -> list[str]:
    ids = []
    for body in bodies:
        ids += await submit(client, body=body, email=email, expect="pending")
    return ids


async def model_post(client: Client, key: Key, status: int = 200, **body: object) -> dict:  # type: ignore[type-arg]
    response = await client.post(url("/model"), json=body, headers=key.headers)
    assert response.status == status, await response.text()
    return await response.json()  # type: ignore[no-any-return]


@pytest.fixture
async def newsroom(
    make_client: Callable[..., Awaitable[Client]],
) -> tuple[Client, Key, Learner, SiteModels]:
    """A pre-moderated site whose learner is stepped by hand."""
    client = await make_client(learn=False)
    key = await new_key(client, "admin")
    services = client.app[SERVICES]
    return client, key, services.learner, services.models


async def test_a_persons_decision_is_a_training_example_and_a_verdict_is_not(
    newsroom: tuple[Client, Key, Learner, SiteModels], rds: aioredis.Redis
) -> None:
    client, key, _, _ = newsroom
    keys = keys_of(client)
    [kept, dropped] = await submit(client, 2)
    # The screening files this one as spam by itself: not a decision.
    await submit(client, body="đụ má mày óc chó vcl đm thằng ngu", expect="pending")
    assert await rds.xlen(keys.training) == 0
    await decide_all(client, key, [kept], "approve")
    await decide_all(client, key, [dropped], "spam")
    entries = await rds.xrange(keys.training)
    assert [(e[b"id"].decode(), e[b"label"], e[b"key"].decode()) for _, e in entries] == [
        (kept, b"0", key.id),
        (dropped, b"1", key.id),
    ]


async def test_the_learner_learns_and_every_worker_picks_up_the_new_version(
    make_client: Callable[..., Awaitable[Client]], rds: aioredis.Redis
) -> None:
    """Two workers on one Redis, each with its background tasks: decisions
    made through one are learned by whichever holds the lease, and both
    score with the new version within seconds."""
    first = await make_client()
    second = await make_client()
    key = await new_key(first, "admin")
    before = probe(lambda: base_model())
    spam = await submit_each(first, SPAM_BODIES, "ads@example.vn")
    clean = await submit_each(first, CLEAN_BODIES, "reader@example.vn")
    await decide_all(first, key, spam, "spam")
    await decide_all(second, key, clean, "approve")
    model_key = keys_of(first).model

    async def learned() -> int:
        return int(await rds.hget(model_key, "learned") or 0)

    await eventually(learned, "every decision learned", until=lambda n: n == 24, within=15)
    version = int(await rds.hget(model_key, "version"))
    for client in (first, second):
        models = client.app[SERVICES].models
        await eventually(
            lambda m=models: m.version("news"),
            "the new version in every worker",
            until=lambda v: v == version,
            within=10,
        )
    after = [probe(lambda c=c: c.app[SERVICES].models.current("news")) for c in (first, second)]
    assert after[0] == after[1]
    assert after[0] > before + 0.1


async def test_a_reversed_decision_is_corrected_not_learned_twice(
    newsroom: tuple[Client, Key, Learner, SiteModels], rds: aioredis.Redis
) -> None:
    client, key, learner, models = newsroom
    keys = keys_of(client)
    ids = await submit_each(client, SPAM_BODIES[:6], "ads@example.vn")
    await decide_all(client, key, ids, "approve")
    await learner.step("news")
    await models.refresh()
    approved = probe(lambda: models.current("news"))
    assert await rds.hget(keys.model_labels, ids[0]) == b"0"
    # "Reject everything of this author": the published comments come down.
    await decide_all(client, key, ids[:1], "reject_author")
    await learner.step("news")
    await models.refresh()
    assert {await rds.hget(keys.model_labels, i) for i in ids} == {b"1"}
    assert probe(lambda: models.current("news")) > approved
    assert int(await rds.hget(keys.model, "learned")) == 12  # 6 learned, then 6 relabelled


async def test_a_decision_reversed_before_the_learner_runs_is_learned_once_as_it_ended(
    newsroom: tuple[Client, Key, Learner, SiteModels], rds: aioredis.Redis
) -> None:
    """Both decisions in one batch: the second corrects the first in memory,
    so what is published is the comment learned once, with its last label."""
    client, key, learner, _ = newsroom
    keys = keys_of(client)
    [comment] = await submit_each(client, SPAM_BODIES[:1], "ads@example.vn")
    await decide_all(client, key, [comment], "approve")
    await decide_all(client, key, [comment], "reject_author")
    assert await learner.step("news") == 2
    assert await rds.hget(keys.model_labels, comment) == b"1"
    assert int(await rds.hget(keys.model, "learned")) == 2  # learned, then corrected


async def test_reset_returns_to_the_base_model_and_forgets_the_past(
    newsroom: tuple[Client, Key, Learner, SiteModels], rds: aioredis.Redis
) -> None:
    client, key, learner, models = newsroom
    keys = keys_of(client)
    await decide_all(client, key, await submit_each(client, SPAM_BODIES, "a@example.vn"), "spam")
    await learner.step("news")
    await models.refresh()
    assert probe(lambda: models.current("news")) != probe(base_model)
    status = await model_post(client, key, action="reset", reason="bad week")
    assert status["version"] == 2 and status["learned"] == 0 and status["pending"] == 0
    await models.refresh()
    assert probe(lambda: models.current("news")) == probe(base_model)
    assert await rds.exists(keys.model_labels) == 0
    assert await learner.step("news") == 0  # what was decided before is not learned again
    [entry] = [e for _, e in await rds.xrange(keys.audit) if e[b"action"] == b"model-reset"]
    assert entry[b"reason"] == b"bad week" and entry[b"key"] == key.id.encode()


async def test_frozen_learning_reads_decisions_without_learning_them(
    newsroom: tuple[Client, Key, Learner, SiteModels], rds: aioredis.Redis
) -> None:
    client, key, learner, _ = newsroom
    keys = keys_of(client)
    assert (await model_post(client, key, action="freeze"))["frozen"] is True
    ids = await submit_each(client, SPAM_BODIES[:4], "a@example.vn")
    await decide_all(client, key, ids, "spam")
    assert await learner.step("news") == 4
    assert await rds.hget(keys.model, "version") is None
    assert await rds.hlen(keys.model_labels) == 0
    assert (await model_post(client, key, action="thaw"))["pending"] == 0
    more = await submit_each(client, SPAM_BODIES[4:8], "a@example.vn")
    await decide_all(client, key, more, "spam")
    await learner.step("news")
    assert sorted(k.decode() for k in await rds.hkeys(keys.model_labels)) == sorted(more)


async def test_an_excluded_keys_decisions_are_not_learned(
    newsroom: tuple[Client, Key, Learner, SiteModels], rds: aioredis.Redis
) -> None:
    client, admin, learner, _ = newsroom
    keys = keys_of(client)
    lenient = await new_key(client, "moderator", name="approves everything")
    status = await model_post(client, admin, action="exclude", key_id=lenient.id)
    assert status["excluded_keys"] == [lenient.id]
    ignored = await submit_each(client, SPAM_BODIES[:3], "a@example.vn")
    learned = await submit_each(client, SPAM_BODIES[3:6], "b@example.vn")
    await decide_all(client, lenient, ignored, "approve")
    await decide_all(client, admin, learned, "spam")
    await learner.step("news")
    assert sorted(k.decode() for k in await rds.hkeys(keys.model_labels)) == sorted(learned)
    await model_post(client, admin, status=422, action="exclude")  # which key?


async def test_one_learner_holds_the_lease_until_it_lets_go(
    newsroom: tuple[Client, Key, Learner, SiteModels],
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    _, _, first, _ = newsroom
    other = (await make_client(learn=False)).app[SERVICES].learner
    assert await first.hold_lease()
    assert not await other.hold_lease()
    assert await first.hold_lease()  # renewing its own
    await first.release()
    assert await other.hold_lease()
    assert not await first.hold_lease()


async def test_the_queue_sorts_by_the_model_and_shows_its_reasons(
    newsroom: tuple[Client, Key, Learner, SiteModels],
) -> None:
    client, key, learner, models = newsroom
    spam = await submit_each(client, SPAM_BODIES, "a@example.vn")
    await decide_all(client, key, spam[:10], "spam")
    await learner.step("news")
    await models.refresh()
    [likely_spam] = await submit(client, body=f"{NOVEL} {NOVEL} giá rẻ hôm nay", email="z@x.vn")
    await submit(client, body="Đường Láng sáng nay lại ngập, mong thành phố sớm xử lý.")
    response = await client.get(
        url("/queue"), params={"order": "abusive", "limit": 50}, headers=key.headers
    )
    items = (await response.json())["items"]
    scores = [item["model"] for item in items]
    assert scores == sorted(scores, reverse=True) and None not in scores
    assert items[0]["id"] in (likely_spam, *spam[10:])
    assert any(r.startswith("model:") for r in items[0]["reasons"])
    clean_first = [
        (await (await client.get(url("/queue"), params=params, headers=key.headers)).json())
        for params in (
            {"order": "clean", "limit": 50},
            {"order": "clean", "limit": 1},
        )
    ]
    everything, first = clean_first
    assert [i["model"] for i in everything["items"]] == sorted(scores)
    assert everything["items"][-1]["id"] == items[0]["id"]
    # Paged: each page starts after the last id of the one before.
    assert first["next"] == first["items"][0]["id"] == everything["items"][0]["id"]
    response = await client.get(
        url("/queue"),
        params={"order": "clean", "limit": 1, "after": first["next"]},
        headers=key.headers,
    )
    assert (await response.json())["items"][0]["id"] == everything["items"][1]["id"]


async def test_what_the_model_keeps_holds_no_personal_data(
    newsroom: tuple[Client, Key, Learner, SiteModels], rds: aioredis.Redis
) -> None:
    client, key, learner, _ = newsroom
    email, name = "private.reader@example.vn", "Hoàng Thị Riêng Tư"
    ids = await submit(client, 3, email=email, name=name, body="Quảng cáo xquorblat ở đây")
    await decide_all(client, key, ids, "spam")
    await learner.step("news")
    keys = keys_of(client)
    model_keys = {keys.model, keys.model_labels, keys.training, keys.model_excluded}
    kept = [blob for k, blob in await redis_contents(rds) if k.decode() in model_keys]
    assert kept
    for blob in kept:
        for secret in (email, "private.reader", name, "Riêng"):
            assert secret.encode() not in blob


async def test_erasure_forgets_what_the_model_learned_of_each_comment(
    newsroom: tuple[Client, Key, Learner, SiteModels], rds: aioredis.Redis
) -> None:
    client, key, learner, _ = newsroom
    keys = keys_of(client)
    ids = await submit_each(client, SPAM_BODIES[:3], "gone@example.vn")
    await decide_all(client, key, ids, "spam")
    await learner.step("news")
    assert await rds.hlen(keys.model_labels) == 3
    response = await client.post(
        url("/erasures"), json={"email": "gone@example.vn"}, headers=key.headers
    )
    assert response.status == 200, await response.text()
    assert await rds.hlen(keys.model_labels) == 0


async def test_recent_scores_give_a_body_too_short_to_hold_nothing(
    newsroom: tuple[Client, Key, Learner, SiteModels],
) -> None:
    """`loibinh model recommend` chooses a threshold on what the model would
    hold: never a body under `model.min_length`."""
    client, key, _, _ = newsroom
    short, long = "Hay 👍", CLEAN_BODIES[0]
    ids = await submit_each(client, [short, long], "reader@example.vn")
    await decide_all(client, key, ids, "approve")
    admin = client.app[SERVICES].model_admin
    every = await admin.recent_scores("news", 10)
    assert len(every) == 2 and all(p > 0 and not abusive for p, abusive in every)
    scored = dict(
        zip([long, short], await admin.recent_scores("news", 10, len(short) + 1), strict=True)
    )
    assert scored[short] == (0.0, False)
    assert scored[long] in every


async def test_release_below_publishes_what_the_rules_only_held_unless_the_site_remembers(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    """A post-moderated site: "vãi" (emphasis here) makes the rules hold the
    comment; the shipped base is sure it is clean (under 0.01 when written;
    the test allows 0.5). With `model.release_below` it goes out at once;
    with a link in a first-time author's comment, the accept script's own
    signal holds it again; without the setting, the rules' hold stands."""
    body = "Đề thi năm nay khó vãi, con tôi làm không kịp giờ"
    releasing = {"holds": True, "release_below": 0.5}
    client = await make_client(sites={"news": site(moderation="post", model=releasing)})
    await submit_ok(client, body=body, status="approved")
    linked = f"{body}, xem đáp án ở https://moet.gov.vn"
    await submit_ok(client, body=linked, status="pending", author=author(email="new@example.vn"))
    holding = await make_client(sites={"news": site(moderation="post", model={"holds": True})})
    await submit_ok(holding, body=body, status="pending")


def test_recommended_threshold_holds_at_most_the_share_of_clean_asked() -> None:
    scored = [(p / 100, False) for p in range(100)] + [(0.5 + p / 200, True) for p in range(100)]
    found = recommend(scored, 0.02)
    assert found.clean_held <= 0.02
    assert found.threshold == pytest.approx(0.97, abs=1e-3)  # above 2 of 100 clean
    assert found.recall == pytest.approx(
        sum(0.5 + p / 200 >= found.threshold for p in range(100)) / 100
    )
    assert recommend(scored, 0.5).recall == 1.0


async def test_a_submission_scored_by_the_model_is_still_one_round_trip(
    make_client: Callable[..., Awaitable[Client]],
    rds: aioredis.Redis,
    redis_server: RedisProcess,
) -> None:
    """The contract's invariant 2 with the learned model on: the worker scores
    with the model it holds, so accepting a comment sends Redis one EVALSHA
    and no other command (what the script runs inside is not a round trip)."""
    client = await make_client(learn=False, deliver_webhooks=False)
    [captcha] = await mint(client)
    monitor = Monitor(redis_server.port)
    await monitor.start()
    response = await client.post(
        "/v1/sites/news/comments", json=submission(captcha, body=f"Ai cần {NOVEL} không?")
    )
    assert response.status == 202, await response.text()
    await monitor.stop()
    sent = [c.name for c in monitor.commands if c.source != "lua"]
    assert sent == [b"evalsha"]
    [comment] = await rds.keys(keys_of(client).comment("*"))
    assert await rds.hget(comment, "model") is not None
