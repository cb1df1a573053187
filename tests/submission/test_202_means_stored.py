"""Invariant 1: a 202 means the comment is stored and queued; a refusal
stores nothing (a wrong answer only spends its challenge)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import (
    THREAD,
    Client,
    accepted,
    expect_problem,
    form_submission,
    keys_of,
    mint,
    site,
    stored,
    submission,
    submit_ok,
    wrong_answer,
)
from tests.submission.helpers import (
    URL,
    captcha_live,
    changed,
    limits,
    outcome,
    padded,
    pending_ids,
    post,
    post_form,
    published,
    snapshot,
)


@pytest.fixture
async def client(make_client) -> Client:
    """The default app without its learner: the busy store's approval is a
    decision the learner publishes a model from at its next wake (once a
    second), which could fall between a test's two snapshots."""
    return await make_client(learn=False)


@pytest.fixture
async def busy(client, rds) -> dict[str, Any]:
    """A store with some history, so a snapshot has something to compare."""
    approved = await published(client, await submit_ok(client))
    pending = await submit_ok(client, body="Đang chờ duyệt.")
    spare = await mint(client, count=5)
    return {"approved": approved, "pending": pending, "spare": spare}


async def _refuse(client: Client, kind: str, busy: dict[str, Any]) -> Any:
    captcha = busy["spare"][0]
    wrong = wrong_answer(captcha)
    json_type = {"Content-Type": "application/json"}
    if kind == "invalid-json":
        return await client.post(URL, data=b'{"thread":', headers=json_type)
    if kind == "captcha-wrong":
        return await post(client, submission(wrong))
    if kind == "captcha-unknown":
        return await post(client, submission(("u" * 22, "K7P2M")))
    if kind == "unknown-site":
        return await client.post("/v1/sites/nope/comments", json=submission(captcha))
    if kind == "unknown-parent":
        return await post(client, submission(captcha, parent_id=busy["pending"]))
    if kind == "too-large":
        raw = padded(submission(captcha), 70 * 1024)
        return await client.post(URL, data=raw, headers=json_type)
    if kind == "media-type":
        return await client.post(URL, data=b"x", headers={"Content-Type": "text/plain"})
    if kind == "validation":
        return await post(client, submission(captcha, body="\u0000"))
    if kind == "idempotency-key":
        return await post(client, submission(captcha), headers={"Idempotency-Key": "x" * 300})
    if kind == "form-captcha-wrong":
        return await post_form(client, form_submission(wrong))
    if kind == "form-return-to":
        return await post_form(client, form_submission(captcha, return_to="https://evil.example/"))
    raise AssertionError(kind)


REFUSALS = {
    "invalid-json": (400, False),
    "captcha-wrong": (400, True),
    "captcha-unknown": (400, False),
    "unknown-site": (404, False),
    "unknown-parent": (404, False),
    "too-large": (413, False),
    "media-type": (415, False),
    "validation": (422, False),
    "idempotency-key": (422, False),
    "form-captcha-wrong": (303, True),
    "form-return-to": (422, False),
}


@pytest.mark.parametrize("kind", list(REFUSALS))
async def test_a_refusal_stores_nothing(client, rds, busy, kind: str) -> None:
    status, consumes_captcha = REFUSALS[kind]
    keys = keys_of(client)
    captcha_id = busy["spare"][0][0]
    before = await snapshot(rds)
    live_before = await rds.hgetall(keys.captcha_live)
    expiry_before = await rds.zrange(keys.captcha_expiry, 0, -1, withscores=True)
    response = await _refuse(client, kind, busy)
    assert response.status == status, await response.text()
    after = await snapshot(rds)
    if not consumes_captcha:
        assert after == before, changed(before, after)
        return
    # One attempt per challenge: the only change is that challenge gone.
    assert changed(before, after) <= {keys.captcha_live.encode(), keys.captcha_expiry.encode()}
    expected_live = {k: v for k, v in live_before.items() if k != captcha_id.encode()}
    assert await rds.hgetall(keys.captcha_live) == expected_live
    assert len(expected_live) == len(live_before) - 1
    expiry_after = await rds.zrange(keys.captcha_expiry, 0, -1, withscores=True)
    assert expiry_after == [m for m in expiry_before if m[0] != captcha_id.encode()]


async def test_a_rate_limited_refusal_stores_nothing(make_client, rds) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=2))})
    await submit_ok(client)
    await submit_ok(client, author={"name": "An", "email": "an@example.vn"})
    [captcha] = await mint(client)
    before = await snapshot(rds)
    other = {"name": "Bình", "email": "binh@example.vn"}
    await expect_problem(await post(client, submission(captcha, author=other)), 429, "rate-limited")
    after = await snapshot(rds)
    assert after == before, changed(before, after)


async def test_an_idempotency_mismatch_stores_nothing(client, rds, busy) -> None:
    [c1, c2] = busy["spare"][:2]
    await accepted(await post(client, submission(c1), headers={"Idempotency-Key": "same"}))
    before = await snapshot(rds)
    response = await post(client, submission(c2, body="khác"), headers={"Idempotency-Key": "same"})
    await expect_problem(response, 422, "validation-failed")
    assert await snapshot(rds) == before


@pytest.mark.parametrize("kind", ["json", "form"])
async def test_202_means_stored_and_queued(client, rds, busy, kind: str) -> None:
    keys = keys_of(client)
    captcha = busy["spare"][0]
    before = await snapshot(rds)
    if kind == "json":
        comment_id = await accepted(await post(client, submission(captcha)))
    else:
        _, query = outcome(await post_form(client, form_submission(captcha)))
        assert query["lb_status"] == ["pending"]
        [comment_id] = query["lb_id"]
    after = await snapshot(rds)
    comment_key = keys.comment(comment_id).encode()
    assert comment_key not in before
    assert comment_key in after
    assert (await stored(rds, client, comment_id))["status"] == "pending"
    assert await rds.zscore(keys.pending, comment_id) is not None
    assert set(await pending_ids(rds, client)) == {busy["pending"], comment_id}
    assert not await captcha_live(rds, client, captcha[0])
    # The other comments and the published thread are intact.
    untouched = {
        keys.comment(busy["approved"]).encode(),
        keys.comment(busy["pending"]).encode(),
        keys.thread(THREAD).encode(),
        keys.thread_public(THREAD).encode(),
    }
    assert untouched <= set(before)
    assert all(after[k] == before[k] for k in untouched), changed(before, after) & untouched
