"""ALTCHA-compatible proof of work (issue 5 item 2): challenges issued per
the contract, solutions checked for signature, expiry and number, accepted
once (the replay mark is set in the accept script), payloads made as the
official widget makes them, and escalation to the stronger challenge."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from service.captcha import pow
from service.errors import CaptchaFailed
from service.http.state import KEYRING, SERVICES
from tests.helpers import (
    Client,
    accepted,
    bearer,
    comment_keys,
    expect_problem,
    keys_of,
    mint,
    rate_limits,
    site,
    submission,
)

MakeClient = Callable[..., Awaitable[Client]]
KEY = b"k" * 32
COMMENTS = "/v1/sites/news/comments"
CAPTCHAS = "/v1/sites/news/captchas"


def widget_payload(challenge: dict[str, Any], number: int | None = None) -> str:
    """What the ALTCHA widget puts in its `altcha` field: base64 of
    JSON.stringify({algorithm, challenge, number, salt, signature, took})."""
    if number is None:
        number = pow.solve(challenge["challenge"], challenge["salt"], challenge["maxnumber"])
        assert number is not None
    data = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
        "took": 42,
    }
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def pow_site(**captcha: Any) -> dict[str, Any]:
    settings = {"pow": {"maxnumber": 2000, "escalated_maxnumber": 8000}, **captcha}
    return site(captcha_provider="pow", captcha=settings)


async def pow_client(make_client: MakeClient, **captcha: Any) -> Client:
    return await make_client(sites={"news": pow_site(**captcha)})


async def issue(client: Client) -> dict[str, Any]:
    response = await client.post(CAPTCHAS)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def answer(payload: str, **overrides: Any) -> dict[str, Any]:
    body = submission(("x" * 16, "x"), **overrides)
    body["captcha"] = {"pow": payload}
    return body


# --- the challenge and its check, alone -------------------------------------------------


def test_a_solution_verifies_and_says_how_long_it_lives() -> None:
    now = int(time.time())
    made = pow.make_challenge(KEY, 1000, now + 60)
    assert made.salt.endswith("&") and f"expires={now + 60}" in made.salt
    payload = widget_payload(made.as_json())
    solution = pow.verify(KEY, payload, now * 1000)
    assert solution.challenge == made.challenge
    assert solution.maxnumber == 1000
    assert solution.ttl_ms == 60_000


def _tampered(made: pow.PowPuzzle, **changes: Any) -> str:
    fields = made.as_json()
    number = pow.solve(made.challenge, made.salt, made.maxnumber)
    data = {**fields, "number": number, **changes}
    data.pop("maxnumber")
    return base64.b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"signature": "0" * 64}, "not issued by this service"),
        ({"number": -1}, "whole number"),
        ({"number": "12"}, "whole number"),
        ({"algorithm": "SHA-1"}, "SHA-256"),
        ({"challenge": None}, "lacks"),
    ],
)
def test_a_tampered_payload_is_refused(change: dict[str, Any], words: str) -> None:
    made = pow.make_challenge(KEY, 1000, int(time.time()) + 60)
    with pytest.raises(CaptchaFailed, match=words):
        pow.verify(KEY, _tampered(made, **change), int(time.time() * 1000))


def test_a_wrong_number_is_refused() -> None:
    made = pow.make_challenge(KEY, 1000, int(time.time()) + 60)
    right = pow.solve(made.challenge, made.salt, made.maxnumber)
    assert right is not None
    payload = widget_payload(made.as_json(), number=right + 1)
    with pytest.raises(CaptchaFailed, match="wrong"):
        pow.verify(KEY, payload, int(time.time() * 1000))


def test_an_expired_salt_is_refused() -> None:
    now = int(time.time())
    made = pow.make_challenge(KEY, 1000, now + 5)
    payload = widget_payload(made.as_json())
    pow.verify(KEY, payload, now * 1000)
    with pytest.raises(CaptchaFailed, match="expired"):
        pow.verify(KEY, payload, (now + 5) * 1000)


def test_a_challenge_signed_with_another_key_is_refused() -> None:
    made = pow.make_challenge(b"other" * 8, 1000, int(time.time()) + 60)
    with pytest.raises(CaptchaFailed, match="not issued by this service"):
        pow.verify(KEY, widget_payload(made.as_json()), int(time.time() * 1000))


def test_digits_cannot_move_from_the_number_into_the_expiry() -> None:
    """Without the closing `&`, salt `...expires=170` + number `05` hashes
    like salt `...expires=1700` + number `5`: a later expiry, same signature."""
    now = int(time.time())
    made = pow.make_challenge(KEY, 1000, now + 60)
    number = pow.solve(made.challenge, made.salt, made.maxnumber)
    assert number is not None and number >= 0
    moved = {**made.as_json(), "salt": made.salt + str(number)[:1]}
    rest = str(number)[1:]
    payload = widget_payload(moved, number=int(rest) if rest else 0)
    with pytest.raises(CaptchaFailed):
        pow.verify(KEY, payload, now * 1000)


@pytest.mark.parametrize(
    "payload", ["not base64!", base64.b64encode(b"[1,2]").decode(), "x" * 3000]
)
def test_a_payload_that_is_not_a_widgets_is_refused(payload: str) -> None:
    with pytest.raises(CaptchaFailed):
        pow.verify(KEY, payload, int(time.time() * 1000))


# --- through the service ---------------------------------------------------------------------


async def test_issue_answers_an_altcha_challenge(make_client: MakeClient) -> None:
    client = await pow_client(make_client)
    body = await issue(client)
    assert set(body) == {"kind", "pow", "expires_in", "form_token"}
    assert body["kind"] == "pow" and body["expires_in"] == 600
    assert set(body["pow"]) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert body["pow"]["algorithm"] == "SHA-256" and body["pow"]["maxnumber"] == 2000
    config = await (await client.get("/v1/sites/news/config")).json()
    assert config["captcha"] == {"provider": "pow", "site_key": None, "action": None}


async def test_a_solution_is_accepted_once(make_client: MakeClient, rds: Any) -> None:
    client = await pow_client(make_client)
    payload = widget_payload((await issue(client))["pow"])
    comment_id = await accepted(await client.post(COMMENTS, json=answer(payload)))
    assert await comment_keys(rds, client) == {keys_of(client).comment(comment_id).encode()}

    again = await client.post(COMMENTS, json=answer(payload, body="Lần nữa."))
    problem = await expect_problem(again, 400, "captcha-failed")
    assert "already used" in problem["detail"]
    assert len(await comment_keys(rds, client)) == 1
    # The replay mark lives as long as the challenge had left, no longer.
    [mark] = [k async for k in rds.scan_iter(match=keys_of(client).pow_spent("*"))]
    assert 0 < await rds.pttl(mark) <= 600_000


async def test_the_widget_field_of_a_form_post_is_read(make_client: MakeClient) -> None:
    client = await pow_client(make_client)
    payload = widget_payload((await issue(client))["pow"])
    form = {
        "thread": "t1",
        "name": "Dương",
        "email": "duong@example.vn",
        "body": "Hay.",
        "altcha": payload,
        "return_to": "https://news.example.vn/a",
        "cf-turnstile-response": "",
    }
    response = await client.post(COMMENTS, data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert "lb_status=pending" in response.headers["Location"]


async def test_an_expired_challenge_is_refused_and_stores_nothing(
    make_client: MakeClient, rds: Any
) -> None:
    client = await pow_client(make_client)
    made = pow.make_challenge(client.app[KEYRING].pow, 2000, int(time.time()) - 1)
    response = await client.post(COMMENTS, json=answer(widget_payload(made.as_json())))
    problem = await expect_problem(response, 400, "captcha-failed")
    assert "expired" in problem["detail"]
    assert await comment_keys(rds, client) == set()


async def test_a_pow_answer_on_an_image_site_is_refused(make_client: MakeClient) -> None:
    client = await make_client()
    made = pow.make_challenge(client.app[KEYRING].pow, 2000, int(time.time()) + 60)
    response = await client.post(COMMENTS, json=answer(widget_payload(made.as_json())))
    await expect_problem(response, 400, "captcha-failed")


async def test_a_malformed_pow_field_names_it(make_client: MakeClient) -> None:
    client = await pow_client(make_client)
    response = await client.post(COMMENTS, json=answer(""))
    problem = await expect_problem(response, 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["captcha.pow"]


# --- escalation --------------------------------------------------------------------------------


async def test_failures_escalate_to_an_image(make_client: MakeClient, rds: Any) -> None:
    client = await pow_client(make_client, escalate_after=2)
    saved = (await issue(client))["pow"]
    for _ in range(2):
        wrong = widget_payload((await issue(client))["pow"], number=999_999)
        await expect_problem(await client.post(COMMENTS, json=answer(wrong)), 400, "captcha-failed")

    body = await issue(client)
    assert body["kind"] == "image" and set(body) >= {"id", "image", "audio_url"}
    refused = await client.post(COMMENTS, json=answer(widget_payload(saved)))
    problem = await expect_problem(refused, 400, "captcha-failed")
    assert "stronger challenge required" in problem["detail"]
    assert await comment_keys(rds, client) == set()

    [captcha] = await mint(client)
    await accepted(await client.post(COMMENTS, json=submission(captcha)))
    # The window is the failure count's TTL.
    [counter] = [k async for k in rds.scan_iter(match=keys_of(client).captcha_failures("*"))]
    assert 0 < await rds.ttl(counter) <= 3600


async def test_a_site_may_escalate_to_a_harder_pow(make_client: MakeClient) -> None:
    client = await pow_client(make_client, escalate_after=1, escalate_to="pow")
    saved = (await issue(client))["pow"]
    wrong = widget_payload((await issue(client))["pow"], number=999_999)
    await expect_problem(await client.post(COMMENTS, json=answer(wrong)), 400, "captcha-failed")

    harder = await issue(client)
    assert harder["kind"] == "pow" and harder["pow"]["maxnumber"] == 8000
    refused = await client.post(COMMENTS, json=answer(widget_payload(saved)))
    assert "stronger" in (await expect_problem(refused, 400, "captcha-failed"))["detail"]
    await accepted(await client.post(COMMENTS, json=answer(widget_payload(harder["pow"]))))


async def test_spam_escalates_its_sender(make_client: MakeClient) -> None:
    rules = {"hold_at": 3, "spam_at": 4, "reject_at": 50}
    client = await make_client(sites={"news": {**pow_site(), "abuse": rules}})
    payload = widget_payload((await issue(client))["pow"])
    spam = "nhà cái uy tín https://a.xyz/1 https://b.xyz/2 https://c.xyz/3"
    await accepted(await client.post(COMMENTS, json=answer(payload, body=spam)))
    assert (await issue(client))["kind"] == "image"


async def test_a_clean_comment_does_not_escalate(make_client: MakeClient) -> None:
    client = await pow_client(make_client)
    payload = widget_payload((await issue(client))["pow"])
    await accepted(await client.post(COMMENTS, json=answer(payload)))
    assert (await issue(client))["kind"] == "pow"


async def test_erasure_forgets_the_failure_count(make_client: MakeClient, rds: Any) -> None:
    client = await pow_client(make_client, escalate_after=5)
    wrong = widget_payload((await issue(client))["pow"], number=999_999)
    await expect_problem(await client.post(COMMENTS, json=answer(wrong)), 400, "captcha-failed")
    await accepted(
        await client.post(COMMENTS, json=answer(widget_payload((await issue(client))["pow"])))
    )
    pattern = keys_of(client).captcha_failures("*")
    assert [k async for k in rds.scan_iter(match=pattern)]
    response = await client.post(
        "/v1/sites/news/moderation/erasures",
        json={"email": "duong@example.vn"},
        headers=await bearer(client),
    )
    assert response.status == 200, await response.text()
    assert [k async for k in rds.scan_iter(match=pattern)] == []


async def test_issuing_stores_nothing_but_the_issue_limit(
    make_client: MakeClient, rds: Any
) -> None:
    client = await pow_client(make_client)
    await issue(client)
    stored = [key async for key in rds.scan_iter()]
    assert len(stored) == 1
    assert stored[0].startswith(keys_of(client).rate("captcha-ip", "").encode())


async def test_a_rate_limited_submission_leaves_the_solution_usable(
    make_client: MakeClient,
) -> None:
    table = pow_site() | {"rate_limits": rate_limits(submit_per_ip=(1, 3600))}
    client = await make_client(sites={"news": table})
    await accepted(
        await client.post(COMMENTS, json=answer(widget_payload((await issue(client))["pow"])))
    )
    payload = widget_payload((await issue(client))["pow"])
    await expect_problem(await client.post(COMMENTS, json=answer(payload)), 429, "rate-limited")
    # Not spent: the limit refused before the captcha was looked at.
    spent = [k async for k in client.app[SERVICES].redis.scan_iter(match="*:pow:*")]
    assert len(spent) == 1
