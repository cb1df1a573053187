"""The captcha as a submission meets it: the answer's case and spaces do not
matter, and a challenge is answered once, also by 200 submissions at once."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import (
    accepted,
    comment_keys,
    expect_problem,
    keys_of,
    mint,
    submission,
    wrong_answer,
)
from tests.submission.helpers import pending_ids, post


@pytest.mark.parametrize("style", ["lower", "spaced", "both"])
async def test_captcha_answer_ignores_case_and_spaces(client, rds, style: str) -> None:
    [(captcha_id, answer)] = await mint(client)
    typed = {
        "lower": answer.lower(),
        "spaced": f" {answer[:3]} {answer[3:]} ",
        "both": f" {answer[:3].lower()} {answer[3:].lower()} ",
    }[style]
    assert typed != answer
    await accepted(await post(client, submission((captcha_id, typed))))


async def test_right_answer_twice_the_second_fails(client, rds) -> None:
    [captcha] = await mint(client)
    first = await accepted(await post(client, submission(captcha)))
    response = await post(client, submission(captcha, body="Một lần nữa."))
    await expect_problem(response, 400, "captcha-failed")
    assert await comment_keys(rds, client) == {keys_of(client).comment(first).encode()}


async def test_wrong_then_right_still_fails(client, rds) -> None:
    [captcha] = await mint(client)
    await expect_problem(
        await post(client, submission(wrong_answer(captcha))), 400, "captcha-failed"
    )
    await expect_problem(await post(client, submission(captcha)), 400, "captcha-failed")
    assert await comment_keys(rds, client) == set()
    assert await pending_ids(rds, client) == []


async def test_200_concurrent_submissions_with_one_captcha(client, rds) -> None:
    [captcha] = await mint(client)
    bodies = [submission(captcha, body=f"Lần thử {i}") for i in range(200)]
    responses = await asyncio.gather(*(post(client, body) for body in bodies))
    statuses = sorted(r.status for r in responses)
    assert statuses.count(202) == 1, statuses
    assert statuses.count(400) == 199, statuses
    [winner] = [r for r in responses if r.status == 202]
    comment_id = await accepted(winner)
    for response in responses:
        if response.status == 400:
            await expect_problem(response, 400, "captcha-failed")
    assert await pending_ids(rds, client) == [comment_id]
    assert await comment_keys(rds, client) == {keys_of(client).comment(comment_id).encode()}
