"""Idempotency-Key on submissions: a retry gets the first answer and stores
nothing more; another body under the same key, or a bad key, is refused."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import accepted, comment_keys, expect_problem, keys_of, mint, site, submission
from tests.submission.helpers import (
    N,
    error_fields,
    limits,
    pending_ids,
    post,
    rate_headers,
    snapshot,
)


async def test_same_idempotency_key_twice_gives_the_first_answer(client, rds) -> None:
    [captcha] = await mint(client)
    body = submission(captcha)
    headers = {"Idempotency-Key": "a1b2c3-retry"}
    first = await post(client, body, headers=headers)
    second = await post(client, body, headers=headers)
    first_id = await accepted(first)
    assert await accepted(second) == first_id
    assert await comment_keys(rds, client) == {keys_of(client).comment(first_id).encode()}
    assert await pending_ids(rds, client) == [first_id]


async def test_a_replay_reports_the_quota_it_did_not_charge(make_client) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=N))})
    [captcha] = await mint(client)
    headers = {"Idempotency-Key": "replay-quota"}
    await accepted(await post(client, submission(captcha), headers=headers))
    replay = await post(client, submission(captcha), headers=headers)
    await accepted(replay)
    _, usage = rate_headers(replay)
    assert usage["submit-ip"]["r"] == N - 1, usage


async def test_same_idempotency_key_replays_the_approved_status(make_client, rds) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    [captcha] = await mint(client)
    body, headers = submission(captcha), {"Idempotency-Key": "k-1"}
    first_id = await accepted(await post(client, body, headers=headers), "approved")
    assert await accepted(await post(client, body, headers=headers), "approved") == first_id
    assert len(await comment_keys(rds, client)) == 1


async def test_idempotency_key_concurrent_retries_store_one(client, rds) -> None:
    [captcha] = await mint(client)
    body, headers = submission(captcha), {"Idempotency-Key": "burst-1"}
    responses = await asyncio.gather(*(post(client, body, headers=headers) for _ in range(20)))
    ids = {await accepted(r) for r in responses}
    assert len(ids) == 1
    assert len(await comment_keys(rds, client)) == 1


async def test_idempotency_key_quoted_and_bare_are_the_same_key(client, rds) -> None:
    [captcha] = await mint(client)
    body = submission(captcha)
    first = await accepted(await post(client, body, headers={"Idempotency-Key": "abc-123"}))
    second = await accepted(await post(client, body, headers={"Idempotency-Key": '"abc-123"'}))
    assert first == second
    assert len(await comment_keys(rds, client)) == 1


async def test_same_idempotency_key_with_another_body_is_refused(client, rds) -> None:
    [c1, c2] = await mint(client, count=2)
    headers = {"Idempotency-Key": "reused-key"}
    first = await accepted(await post(client, submission(c1), headers=headers))
    before = await snapshot(rds)
    response = await post(client, submission(c2, body="Khác hẳn."), headers=headers)
    data = await expect_problem(response, 422, "validation-failed")
    assert error_fields(data) == {"Idempotency-Key"}
    assert await snapshot(rds) == before
    assert await comment_keys(rds, client) == {keys_of(client).comment(first).encode()}
    # The refusal left the second challenge usable.
    await accepted(await post(client, submission(c2, body="Khác hẳn.")))


async def test_a_new_idempotency_key_is_a_new_submission(client, rds) -> None:
    [c1, c2] = await mint(client, count=2)
    a = await accepted(await post(client, submission(c1), headers={"Idempotency-Key": "one"}))
    b = await accepted(await post(client, submission(c2), headers={"Idempotency-Key": "two"}))
    assert a != b
    assert len(await comment_keys(rds, client)) == 2


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 256, id="too-long"),
        pytest.param("clé-đặt-hàng", id="non-ascii"),
        pytest.param('""', id="empty-quoted"),
        pytest.param("key with spaces and é", id="non-ascii-spaces"),
    ],
)
async def test_bad_idempotency_key_is_refused(client, rds, key: str) -> None:
    [captcha] = await mint(client)
    before = await snapshot(rds)
    response = await post(client, submission(captcha), headers={"Idempotency-Key": key})
    data = await expect_problem(response, 422, "validation-failed")
    assert error_fields(data) == {"Idempotency-Key"}
    assert await snapshot(rds) == before


async def test_idempotency_key_of_255_characters_is_accepted(client) -> None:
    [captcha] = await mint(client)
    await accepted(await post(client, submission(captcha), headers={"Idempotency-Key": "k" * 255}))
