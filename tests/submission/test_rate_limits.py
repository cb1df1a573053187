"""The submission's rate limits: exactly N per address and per email under
concurrency, a refused try keeps its captcha, and the RateLimit fields of
every answer."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import (
    Client,
    accepted,
    comment_keys,
    expect_problem,
    form_submission,
    keys_of,
    mint,
    site,
    submission,
    submit_ok,
    wrong_answer,
)
from tests.submission.helpers import (
    URL,
    N,
    captcha_live,
    limits,
    pending_ids,
    post,
    post_form,
    rate_headers,
    retry_after,
)


async def test_rate_limit_per_ip_exactly_n_of_n_plus_50(make_client, rds) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=N))})
    captchas = await mint(client, count=N + 50)
    bodies = [
        submission(c, author={"name": f"Bạn đọc {i}", "email": f"reader{i}@example.vn"})
        for i, c in enumerate(captchas)
    ]
    responses = await asyncio.gather(*(post(client, body) for body in bodies))
    ok = [r for r in responses if r.status == 202]
    refused = [r for r in responses if r.status != 202]
    assert len(ok) == N, sorted(r.status for r in responses)
    ids = {await accepted(r) for r in ok}
    for response in refused:
        await expect_problem(response, 429, "rate-limited")
        retry_after(response)
    assert set(await pending_ids(rds, client)) == ids
    assert len(await comment_keys(rds, client)) == N
    # Refused tries consumed nothing: their challenges are still live.
    assert await rds.hlen(keys_of(client).captcha_live) == 50


async def test_rate_limit_per_email_exactly_n_of_n_plus_50(make_client, rds) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(email=N))})
    captchas = await mint(client, count=N + 50)
    responses = await asyncio.gather(*(post(client, submission(c)) for c in captchas))
    statuses = sorted(r.status for r in responses)
    assert statuses.count(202) == N, statuses
    assert statuses.count(429) == 50, statuses
    for response in responses:
        if response.status == 429:
            await expect_problem(response, 429, "rate-limited")
            retry_after(response)
            _, usage = rate_headers(response)
            assert usage["submit-email"]["r"] == 0
    assert len(await pending_ids(rds, client)) == N
    assert len(await comment_keys(rds, client)) == N


async def test_rate_limit_of_one_email_leaves_other_emails_alone(make_client) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(email=1))})
    await submit_ok(client)
    [captcha] = await mint(client)
    await expect_problem(await post(client, submission(captcha)), 429, "rate-limited")
    await submit_ok(client, author={"name": "Trần Văn An", "email": "an@example.vn"})


async def test_rate_limited_try_does_not_consume_its_captcha(make_client, rds) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(email=1))})
    await submit_ok(client)
    [captcha] = await mint(client)
    await expect_problem(await post(client, submission(captcha)), 429, "rate-limited")
    assert await captcha_live(rds, client, captcha[0])
    other = {"name": "Trần Văn An", "email": "an@example.vn"}
    await accepted(await post(client, submission(captcha, author=other)))


async def test_rate_limited_try_by_ip_keeps_captcha_until_the_window_passes(
    make_client, rds
) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=1))})
    await submit_ok(client)
    [captcha] = await mint(client)
    other = {"name": "Trần Văn An", "email": "an@example.vn"}
    await expect_problem(await post(client, submission(captcha, author=other)), 429, "rate-limited")
    # The window passing, simulated: the limiter's keys expire.
    rate_keys = [k async for k in rds.scan_iter(match=keys_of(client).rate("*", "*"))]
    assert rate_keys
    await rds.delete(*rate_keys)
    await accepted(await post(client, submission(captcha, author=other)))


async def test_ratelimit_fields_on_202(make_client) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=N, email=3))})
    [captcha] = await mint(client)
    response = await post(client, submission(captcha))
    await accepted(response)
    policy, usage = rate_headers(response)
    assert policy["submit-ip"] == {"q": N, "w": 3600}
    assert policy["submit-email"] == {"q": 3, "w": 3600}
    assert usage["submit-ip"]["r"] == N - 1
    assert usage["submit-email"]["r"] == 2
    assert usage["submit-ip"]["t"] == 3600 // N
    assert usage["submit-email"]["t"] == 3600 // 3
    [captcha] = await mint(client)
    _, usage = rate_headers(await post(client, submission(captcha)))
    assert usage["submit-ip"]["r"] == N - 2
    assert usage["submit-email"]["r"] == 1
    assert 3600 // N < usage["submit-ip"]["t"] <= 2 * 3600 // N


async def _refusals(client: Client) -> list[tuple[Any, int]]:
    """One answer of each refusal kind, after one accepted submission by
    duong@example.vn (whose email limit is then exhausted)."""
    json_type = {"Content-Type": "application/json"}
    [c1, c2, c3, c4, c5] = await mint(client, count=5)
    ghost = "01J00000000000000000000000"
    other = {"name": "B", "email": "b@x.vn"}
    return [
        (await client.post(URL, data=b"{", headers=json_type), 400),
        (await post(client, submission(wrong_answer(c1), author=other)), 400),
        (await post(client, submission(c2, parent_id=ghost)), 404),
        (await client.post(URL, data=b" " * 70_000, headers=json_type), 413),
        (await client.post(URL, data=b"x", headers={"Content-Type": "text/plain"}), 415),
        (await post(client, submission(c3, body="")), 422),
        (await post(client, submission(c4)), 429),
        (await post_form(client, form_submission(wrong_answer(c5), email="c@x.vn")), 303),
    ]


async def test_ratelimit_fields_on_refusals(make_client) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=N, email=1))})
    await submit_ok(client)
    for response, status in await _refusals(client):
        assert response.status == status, await response.text()
        policy, usage = rate_headers(response)
        assert policy["submit-ip"] == {"q": N, "w": 3600}
        assert 0 <= usage["submit-ip"]["r"] < N, (status, usage)


async def test_ratelimit_fields_of_refusals_report_the_uncharged_quota(make_client) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=N, email=1))})
    await submit_ok(client)
    for response, status in await _refusals(client):
        assert response.status == status, await response.text()
        _, usage = rate_headers(response)
        # Nothing refused was charged: one submission so far, whose unit
        # frees again after one emission interval (3600 s / N).
        assert usage["submit-ip"]["r"] == N - 1, (status, usage)
        assert usage["submit-ip"]["t"] == 3600 // N, (status, usage)


async def test_ratelimit_field_before_any_submission_shows_the_whole_quota(make_client) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=N))})
    response = await client.post(URL, data=b"{", headers={"Content-Type": "application/json"})
    await expect_problem(response, 400, "invalid-json")
    _, usage = rate_headers(response)
    assert usage["submit-ip"] == {"r": N, "t": 0}
