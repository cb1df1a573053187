"""POST /v1/sites/{site}/comments: every answer of the route, the captcha and
rate-limit semantics, idempotency, validation details, moderation modes, form
posts, and invariant 1 (202 means stored; a refusal stores nothing)."""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis.asyncio as aioredis

from tests.helpers import (
    ARTICLE,
    PROBLEM,
    THREAD,
    Client,
    accepted,
    approve,
    comment_keys,
    expect_problem,
    form_submission,
    keys_of,
    mint,
    public_ids,
    rate_limits,
    site,
    stored,
    submission,
    submit_ok,
    wrong_answer,
)

URL = "/v1/sites/news/comments"
RETURN_TO = ARTICLE


# ----------------------------------------------------------------- helpers


def limits(ip: int = 1000, email: int = 1000, period: float = 3600) -> dict[str, Any]:
    """Rate limits with these submission limits per address and per email."""
    return rate_limits(submit_per_ip=(ip, period), submit_per_email=(email, period))


def error_fields(data: dict[str, Any]) -> set[str]:
    assert isinstance(data.get("errors"), list) and data["errors"], data
    for error in data["errors"]:
        assert isinstance(error["message"], str) and error["message"]
    return {error["field"] for error in data["errors"]}


async def post(client: Client, body: dict[str, Any], **kwargs: Any) -> Any:
    return await client.post(URL, json=body, **kwargs)


async def published(client: Client, comment_id: str, thread: str = THREAD) -> str:
    """Approve a comment through the store (the moderation API comes later)."""
    assert await approve(client, comment_id)
    assert comment_id in await public_ids(client, thread)
    return comment_id


async def pending_ids(rds: aioredis.Redis, client: Client) -> list[str]:
    return [m.decode() for m in await rds.zrange(keys_of(client).pending, 0, -1)]


async def captcha_live(rds: aioredis.Redis, client: Client, captcha_id: str) -> bool:
    return bool(await rds.hexists(keys_of(client).captcha_live, captcha_id))


Snapshot = dict[bytes, tuple[bytes, bytes]]


async def snapshot(rds: aioredis.Redis) -> Snapshot:
    """Every key in Redis with its type and serialised value."""
    out: Snapshot = {}
    async for key in rds.scan_iter(count=1000):
        out[key] = (await rds.type(key), await rds.dump(key))
    return out


def changed(before: Snapshot, after: Snapshot) -> set[bytes]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def structured_list(value: str) -> dict[str, dict[str, int]]:
    """A small parse of an RFC 8941 list of `"name";k=int;...` items."""
    items: dict[str, dict[str, int]] = {}
    for member in re.split(r"\s*,\s*", value.strip()):
        match = re.fullmatch(r'"([^"]+)"((?:;[a-z]+=-?\d+)*)', member)
        assert match, f"not a structured-field item: {member!r} in {value!r}"
        params = dict(re.findall(r";([a-z]+)=(-?\d+)", match.group(2)))
        items[match.group(1)] = {k: int(v) for k, v in params.items()}
    return items


def rate_headers(response: Any) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    assert "RateLimit-Policy" in response.headers, dict(response.headers)
    assert "RateLimit" in response.headers, dict(response.headers)
    return (
        structured_list(response.headers["RateLimit-Policy"]),
        structured_list(response.headers["RateLimit"]),
    )


def retry_after(response: Any) -> int:
    value = response.headers.get("Retry-After")
    assert value is not None and re.fullmatch(r"\d+", value), dict(response.headers)
    assert int(value) >= 1
    return int(value)


def outcome(response: Any) -> tuple[str, dict[str, list[str]]]:
    assert response.status == 303, response.status
    location = response.headers["Location"]
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


# ------------------------------------------------- every answer of the route


async def test_202_stores_the_comment_pending_and_queued(client, rds) -> None:
    [captcha] = await mint(client)
    response = await post(client, submission(captcha))
    comment_id = await accepted(response)
    comment = await stored(rds, client, comment_id)
    assert comment["status"] == "pending"
    assert comment["thread"] == THREAD
    assert comment["name"] == "Nguyễn Thị Thùy Dương"
    assert comment["email"] == "duong@example.vn"
    assert comment["body"] == "Bài viết rất hay."
    assert await pending_ids(rds, client) == [comment_id]
    assert not await captcha_live(rds, client, captcha[0])


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"thread": "ca-mau", "author": {', id="syntax-error"),
        pytest.param(b'{"thread": "ca-mau",}', id="trailing-comma"),
        pytest.param(b'{"thread": "ca-mau-\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b'{"body": "B\xe0i vi\xe9t"}', id="latin1-bytes"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_400_invalid_json(client, rds, raw: bytes) -> None:
    before = await snapshot(rds)
    response = await client.post(URL, data=raw, headers={"Content-Type": "application/json"})
    await expect_problem(response, 400, "invalid-json")
    assert await snapshot(rds) == before


async def test_400_invalid_utf8_inside_an_otherwise_valid_submission(client, rds) -> None:
    [captcha] = await mint(client)
    raw = json.dumps(submission(captcha, body="PLACEHOLDER")).encode()
    raw = raw.replace(b"PLACEHOLDER", b"B\xc3i vi\xe9t \xed\xa0\x80")
    response = await client.post(URL, data=raw, headers={"Content-Type": "application/json"})
    await expect_problem(response, 400, "invalid-json")
    assert await captcha_live(rds, client, captcha[0])
    assert await comment_keys(rds, client) == set()


async def test_400_captcha_wrong_answer(client, rds) -> None:
    [captcha] = await mint(client)
    response = await post(client, submission(wrong_answer(captcha)))
    await expect_problem(response, 400, "captcha-failed")
    assert await comment_keys(rds, client) == set()


async def test_400_captcha_unknown_id(client, rds) -> None:
    response = await post(client, submission(("x" * 22, "K7P2M")))
    await expect_problem(response, 400, "captcha-failed")
    assert await comment_keys(rds, client) == set()


async def test_400_captcha_minted_for_another_site(make_client, rds) -> None:
    client = await make_client(sites={"news": site(), "sport": site()})
    [captcha] = await mint(client, "sport")
    await expect_problem(await post(client, submission(captcha)), 400, "captcha-failed")
    assert await comment_keys(rds, client) == set()


async def test_404_unknown_site(client, rds) -> None:
    [captcha] = await mint(client)
    before = await snapshot(rds)
    response = await client.post("/v1/sites/nope/comments", json=submission(captcha))
    await expect_problem(response, 404, "unknown-site")
    assert await snapshot(rds) == before


async def test_404_unknown_parent_that_does_not_exist(client, rds) -> None:
    [captcha] = await mint(client)
    before = await snapshot(rds)
    ghost = "01J00000000000000000000000"
    response = await post(client, submission(captcha, parent_id=ghost))
    await expect_problem(response, 404, "unknown-parent")
    assert await snapshot(rds) == before


async def test_404_unknown_parent_still_pending(client, rds) -> None:
    parent = await submit_ok(client)
    [captcha] = await mint(client)
    response = await post(client, submission(captcha, parent_id=parent))
    await expect_problem(response, 404, "unknown-parent")
    assert await comment_keys(rds, client) == {keys_of(client).comment(parent).encode()}


async def test_404_unknown_parent_in_another_thread(client, rds) -> None:
    parent = await published(
        client, await submit_ok(client, thread="other-article"), "other-article"
    )
    [captcha] = await mint(client)
    response = await post(client, submission(captcha, parent_id=parent))
    await expect_problem(response, 404, "unknown-parent")
    assert await comment_keys(rds, client) == {keys_of(client).comment(parent).encode()}


async def test_reply_to_a_published_parent_of_the_same_thread(client, rds) -> None:
    parent = await published(client, await submit_ok(client))
    reply = await submit_ok(client, parent_id=parent)
    assert (await stored(rds, client, reply))["parent_id"] == parent


async def test_unknown_parent_does_not_consume_the_captcha(client, rds) -> None:
    [captcha] = await mint(client)
    ghost = "01J00000000000000000000000"
    await expect_problem(
        await post(client, submission(captcha, parent_id=ghost)), 404, "unknown-parent"
    )
    await accepted(await post(client, submission(captcha)))


def padded(body: dict[str, Any], size: int) -> bytes:
    """The submission as JSON, padded with insignificant whitespace to `size` bytes."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


async def test_413_with_content_length(make_client, rds) -> None:
    client = await make_client(max_body_bytes=2048)
    [captcha] = await mint(client)
    before = await snapshot(rds)
    response = await client.post(
        URL, data=padded(submission(captcha), 2049), headers={"Content-Type": "application/json"}
    )
    await expect_problem(response, 413, "payload-too-large")
    assert await snapshot(rds) == before


async def test_413_chunked(make_client, rds) -> None:
    client = await make_client(max_body_bytes=2048)
    [captcha] = await mint(client)
    raw = padded(submission(captcha), 4096)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 512):
            yield raw[start : start + 512]

    before = await snapshot(rds)
    response = await client.post(URL, data=chunks(), headers={"Content-Type": "application/json"})
    assert "Content-Length" not in response.request_info.headers
    await expect_problem(response, 413, "payload-too-large")
    assert await snapshot(rds) == before


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_of_exactly_max_body_bytes_is_accepted(make_client, chunked: bool) -> None:
    client = await make_client(max_body_bytes=2048)
    [captcha] = await mint(client)
    raw = padded(submission(captcha), 2048)

    async def chunks() -> AsyncIterator[bytes]:
        yield raw[:1000]
        yield raw[1000:]

    data: Any = chunks() if chunked else raw
    response = await client.post(URL, data=data, headers={"Content-Type": "application/json"})
    await accepted(response)


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", b"hello"),
        ("text/plain; charset=utf-8", b'{"thread": "x"}'),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\n\r\nx\r\n--xyz--\r\n"),
        ("application/xml", b"<comment/>"),
    ],
)
async def test_415_unsupported_media_type(client, rds, content_type: str, raw: bytes) -> None:
    before = await snapshot(rds)
    response = await client.post(URL, data=raw, headers={"Content-Type": content_type})
    await expect_problem(response, 415, "unsupported-media-type")
    accept_post = {m.strip() for m in response.headers["Accept-Post"].split(",")}
    assert accept_post == {"application/json", "application/x-www-form-urlencoded"}
    assert await snapshot(rds) == before


async def test_json_with_charset_parameter_is_accepted(client) -> None:
    [captcha] = await mint(client)
    raw = json.dumps(submission(captcha)).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    await accepted(await client.post(URL, data=raw, headers=headers))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        target[last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        del target[last]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "fields"),
    [
        pytest.param(_set("author.email", "duong"), {"author.email"}, id="email-no-at"),
        pytest.param(_set("author.email", "duong@"), {"author.email"}, id="email-no-domain"),
        pytest.param(_set("author.email", ""), {"author.email"}, id="email-empty"),
        pytest.param(_drop("author.email"), {"author.email"}, id="email-missing"),
        pytest.param(_set("author.name", ""), {"author.name"}, id="name-empty"),
        pytest.param(_set("author.name", 123), {"author.name"}, id="name-int"),
        pytest.param(_set("author.name", None), {"author.name"}, id="name-null"),
        pytest.param(_drop("author"), {"author"}, id="author-missing"),
        pytest.param(_set("author", "Dương"), {"author"}, id="author-string"),
        pytest.param(_set("body", None), {"body"}, id="body-null"),
        pytest.param(_set("body", ["a"]), {"body"}, id="body-list"),
        pytest.param(_set("body", ""), {"body"}, id="body-empty"),
        pytest.param(_drop("body"), {"body"}, id="body-missing"),
        pytest.param(_set("thread", "bad thread"), {"thread"}, id="thread-space"),
        pytest.param(_set("thread", ""), {"thread"}, id="thread-empty"),
        pytest.param(_set("thread", 42), {"thread"}, id="thread-int"),
        pytest.param(_drop("thread"), {"thread"}, id="thread-missing"),
        pytest.param(_set("captcha.id", "short"), {"captcha.id"}, id="captcha-id-short"),
        pytest.param(_set("captcha.id", "a/b" * 8), {"captcha.id"}, id="captcha-id-chars"),
        pytest.param(_set("captcha.answer", ""), {"captcha.answer"}, id="captcha-answer-empty"),
        pytest.param(_drop("captcha"), {"captcha"}, id="captcha-missing"),
        pytest.param(_set("parent_id", "abc"), {"parent_id"}, id="parent-id-pattern"),
        pytest.param(_set("parent_id", 7), {"parent_id"}, id="parent-id-int"),
        pytest.param(_set("extra", 1), {"extra"}, id="unknown-field"),
        pytest.param(_set("author.url", "https://x.example"), {"author.url"}, id="unknown-nested"),
    ],
)
async def test_422_validation_names_the_field(client, rds, mutate, fields: set[str]) -> None:
    [captcha] = await mint(client)
    body = submission(captcha)
    mutate(body)
    before = await snapshot(rds)
    data = await expect_problem(await post(client, body), 422, "validation-failed")
    assert error_fields(data) == fields
    assert await snapshot(rds) == before


async def test_422_lists_every_invalid_field(client) -> None:
    [captcha] = await mint(client)
    body = submission(captcha, thread="-x", body="")
    body["author"] = {"name": "", "email": "nope"}
    data = await expect_problem(await post(client, body), 422, "validation-failed")
    assert error_fields(data) == {"thread", "body", "author.name", "author.email"}


@pytest.mark.parametrize("raw", [b"[]", b'[{"thread": "x"}]', b'"text"', b"42", b"null"])
async def test_422_json_that_is_not_an_object(client, rds, raw: bytes) -> None:
    before = await snapshot(rds)
    response = await client.post(URL, data=raw, headers={"Content-Type": "application/json"})
    data = await expect_problem(response, 422, "validation-failed")
    assert len(data["errors"]) == 1
    assert await snapshot(rds) == before


async def test_429_rate_limited_with_retry_after(make_client, rds) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=1))})
    await submit_ok(client)
    [captcha] = await mint(client)
    before = await snapshot(rds)
    response = await post(client, submission(captcha, author={"name": "B", "email": "b@x.vn"}))
    await expect_problem(response, 429, "rate-limited")
    assert 1 <= retry_after(response) <= 3600
    assert await snapshot(rds) == before


@pytest.mark.parametrize(
    "name",
    [
        "invalid-json",
        "captcha-failed",
        "unknown-site",
        "unknown-parent",
        "payload-too-large",
        "unsupported-media-type",
        "validation-failed",
        "rate-limited",
        "unavailable",
    ],
)
async def test_problem_types_are_explained_at_their_url(client, name: str) -> None:
    response = await client.get(f"/problems/{name}")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert len(await response.text()) > 50


# ------------------------------------------------------------------ captcha


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


# --------------------------------------------------------------- rate limits

N = 10


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


# ------------------------------------------------------------ idempotency


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


# ------------------------------------------------------- validation details


async def test_name_and_body_are_stored_nfc(client, rds) -> None:
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Thu\u0300y"
    assert not unicodedata.is_normalized("NFC", decomposed)
    comment_id = await submit_ok(
        client,
        author={"name": decomposed, "email": "duong@example.vn"},
        body="Bai vie\u0302\u0301t ra\u0302\u0301t hay.",
    )
    comment = await stored(rds, client, comment_id)
    assert comment["name"] == "Nguyễn Thị Thùy"
    assert comment["name"] == unicodedata.normalize("NFC", decomposed)
    assert comment["body"] == "Bai viết rất hay."


async def test_crlf_and_cr_in_body_become_lf(client, rds) -> None:
    comment_id = await submit_ok(client, body="Dòng một\r\nDòng hai\rDòng ba\r\n\r\nĐoạn hai")
    assert (await stored(rds, client, comment_id))["body"] == (
        "Dòng một\nDòng hai\nDòng ba\n\nĐoạn hai"
    )


async def test_tab_and_newline_allowed_in_body(client, rds) -> None:
    comment_id = await submit_ok(client, body="Cột\tmột\nCột\thai")
    assert (await stored(rds, client, comment_id))["body"] == "Cột\tmột\nCột\thai"


def _author(name: str) -> dict[str, str]:
    return {"name": name, "email": "duong@example.vn"}


@pytest.mark.parametrize(
    "char", ["\u0000", "\u0007", "\u001b", "\u007f", "\u0085", "\u009b", "\u202e", "\u2066"]
)
@pytest.mark.parametrize("field", ["body", "author.name"])
async def test_control_and_bidi_characters_are_refused(client, rds, char: str, field: str) -> None:
    [captcha] = await mint(client)
    text = f"Bài{char}viết"
    overrides = {"body": text} if field == "body" else {"author": _author(text)}
    before = await snapshot(rds)
    data = await expect_problem(
        await post(client, submission(captcha, **overrides)), 422, "validation-failed"
    )
    assert error_fields(data) == {field}
    assert await snapshot(rds) == before


@pytest.mark.parametrize("char", ["\n", "\r", "\t", "\u2028", "\u2029"])
async def test_line_breaks_and_tabs_are_refused_in_name(client, char: str) -> None:
    [captcha] = await mint(client)
    response = await post(client, submission(captcha, author=_author(f"Nguyễn{char}Dương")))
    data = await expect_problem(response, 422, "validation-failed")
    assert error_fields(data) == {"author.name"}


async def test_lone_surrogate_escape_is_invalid_json(client, rds) -> None:
    # RFC 8259 lets the escape through its grammar, but the text it stands
    # for has no UTF-8 form: the body cannot be read as UTF-8 JSON text.
    [captcha] = await mint(client)
    raw = json.dumps(submission(captcha, body="Bài viết \ud800 hay")).encode()
    assert b"\\ud800" in raw
    before = await snapshot(rds)
    response = await client.post(URL, data=raw, headers={"Content-Type": "application/json"})
    data = await expect_problem(response, 400, "invalid-json")
    assert "UTF-8" in data["detail"]
    assert await snapshot(rds) == before


async def test_lone_surrogate_escape_is_never_a_500(client, rds) -> None:
    [captcha] = await mint(client)
    for value in ("\ud800", "a\udc00b", "\udbff"):
        for overrides in ({"body": value}, {"author": _author(value)}, {"thread": value}):
            raw = json.dumps(submission(captcha, **overrides)).encode()
            response = await client.post(
                URL, data=raw, headers={"Content-Type": "application/json"}
            )
            assert response.status in (400, 422), await response.text()
            assert response.content_type == PROBLEM
    assert await captcha_live(rds, client, captcha[0])
    assert await comment_keys(rds, client) == set()


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("ễ" * 80, True),
        ("  " + "ễ" * 80 + "\u3000 ", True),
        ("e\u0302\u0303" * 80, True),
        ("ễ" * 81, False),
        ("a" * 81, False),
        ("   ", False),
        ("\u3000\u00a0", False),
    ],
    ids=["80", "80-padded", "80-after-nfc", "81", "81-ascii", "blank", "unicode-blank"],
)
async def test_name_length_after_trimming(client, rds, name: str, ok: bool) -> None:
    [captcha] = await mint(client)
    response = await post(client, submission(captcha, author=_author(name)))
    if ok:
        comment_id = await accepted(response)
        assert (await stored(rds, client, comment_id))["name"] == "ễ" * 80
    else:
        data = await expect_problem(response, 422, "validation-failed")
        assert error_fields(data) == {"author.name"}


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ("ờ" * 5000, True),
        ("\n " + "ờ" * 5000 + " \n\n", True),
        ("ờ" * 5001, False),
        (" \t\n\r\n ", False),
    ],
    ids=["5000", "5000-padded", "5001", "blank"],
)
async def test_body_length_after_trimming(client, rds, body: str, ok: bool) -> None:
    [captcha] = await mint(client)
    response = await post(client, submission(captcha, body=body))
    if ok:
        comment_id = await accepted(response)
        assert (await stored(rds, client, comment_id))["body"] == "ờ" * 5000
    else:
        data = await expect_problem(response, 422, "validation-failed")
        assert error_fields(data) == {"body"}


@pytest.mark.parametrize(
    ("thread", "ok"),
    [
        ("a" * 200, True),
        ("A0._:-z", True),
        ("9", True),
        ("a" * 201, False),
        ("-leading-dash", False),
        (".leading-dot", False),
        ("has/slash", False),
        ("bài-viết", False),
        ("trailing\n", False),
    ],
    ids=["200", "punctuation", "one-char", "201", "dash", "dot", "slash", "non-ascii", "newline"],
)
async def test_thread_pattern(client, thread: str, ok: bool) -> None:
    [captcha] = await mint(client)
    response = await post(client, submission(captcha, thread=thread))
    if ok:
        await accepted(response)
    else:
        data = await expect_problem(response, 422, "validation-failed")
        assert error_fields(data) == {"thread"}


# ----------------------------------------------------------- moderation modes


async def test_post_moderation_publishes_at_once(make_client) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    [captcha] = await mint(client)
    comment_id = await accepted(await post(client, submission(captcha)), "approved")
    assert await public_ids(client) == [comment_id]


async def test_pre_moderation_holds_every_comment(make_client, rds) -> None:
    client = await make_client(sites={"news": site(moderation="pre")})
    first = await submit_ok(client)
    await published(client, first)
    second = await submit_ok(client)
    assert (await stored(rds, client, second))["status"] == "pending"
    assert await public_ids(client) == [first]


async def test_first_comment_moderation(make_client, rds) -> None:
    client = await make_client(sites={"news": site(moderation="first-comment")})
    first = await submit_ok(client)
    held = await submit_ok(client, body="Chưa được duyệt nên vẫn chờ.")
    assert await public_ids(client) == []
    await published(client, first)
    [captcha] = await mint(client)
    trusted = await accepted(await post(client, submission(captcha, body="Lần sau.")), "approved")
    assert await public_ids(client) == [first, trusted]
    assert (await stored(rds, client, held))["status"] == "pending"
    stranger = {"name": "Trần Văn An", "email": "an@example.vn"}
    [captcha] = await mint(client)
    await accepted(await post(client, submission(captcha, author=stranger)), "pending")


# ------------------------------------------------------------- form posts


async def post_form(client: Client, data: dict[str, str], site_id: str = "news") -> Any:
    return await client.post(f"/v1/sites/{site_id}/comments", data=data, allow_redirects=False)


async def test_form_post_success_redirects_with_the_outcome(client, rds) -> None:
    [captcha] = await mint(client)
    response = await post_form(client, form_submission(captcha))
    page, query = outcome(response)
    assert page == RETURN_TO
    assert query["lb_status"] == ["pending"]
    [comment_id] = query["lb_id"]
    assert query["page"] == ["2"]
    comment = await stored(rds, client, comment_id)
    assert comment["status"] == "pending"
    assert comment["name"] == "Nguyễn Thị Thùy Dương"
    assert comment["body"] == "Bài viết rất hay.\nCảm ơn tác giả."
    assert await pending_ids(rds, client) == [comment_id]


async def test_form_post_keeps_query_and_replaces_stale_outcome(client) -> None:
    [captcha] = await mint(client)
    return_to = RETURN_TO + "?utm_source=fb&page=3&lb_status=error&lb_problem=captcha-failed"
    page, query = outcome(await post_form(client, form_submission(captcha, return_to=return_to)))
    assert page == RETURN_TO
    assert query["utm_source"] == ["fb"]
    assert query["page"] == ["3"]
    assert query["lb_status"] == ["pending"]
    assert "lb_problem" not in query


async def test_form_post_wrong_captcha_redirects_with_the_problem(client, rds) -> None:
    [captcha] = await mint(client)
    page, query = outcome(await post_form(client, form_submission(wrong_answer(captcha))))
    assert page == RETURN_TO
    assert query["lb_status"] == ["error"]
    assert query["lb_problem"] == ["captcha-failed"]
    assert "lb_id" not in query
    assert await comment_keys(rds, client) == set()


async def test_form_post_validation_error_redirects_with_the_problem(client, rds) -> None:
    [captcha] = await mint(client)
    before = await snapshot(rds)
    _, query = outcome(
        await post_form(client, form_submission(captcha, email="not-an-email", body=" "))
    )
    assert query["lb_status"] == ["error"]
    assert query["lb_problem"] == ["validation-failed"]
    assert "lb_id" not in query
    assert await snapshot(rds) == before


async def test_form_post_rate_limited_redirects_with_the_problem(make_client) -> None:
    client = await make_client(sites={"news": site(rate_limits=limits(ip=1))})
    await submit_ok(client)
    [captcha] = await mint(client)
    _, query = outcome(await post_form(client, form_submission(captcha, email="other@example.vn")))
    assert query["lb_status"] == ["error"]
    assert query["lb_problem"] == ["rate-limited"]


async def test_form_post_with_an_empty_parent_id_is_not_a_reply(client, rds) -> None:
    [captcha] = await mint(client)
    _, query = outcome(await post_form(client, form_submission(captcha, parent_id="")))
    assert (await stored(rds, client, query["lb_id"][0]))["parent_id"] == ""


@pytest.mark.parametrize(
    "return_to",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("https://evil.example/phish", id="foreign-origin"),
        pytest.param("https://news.example.vn.evil.example/", id="suffix-origin"),
        pytest.param("https://news.example.vn@evil.example/", id="userinfo"),
        pytest.param("http://news.example.vn/", id="other-scheme"),
        pytest.param("//evil.example/", id="scheme-relative"),
        pytest.param("/relative/path", id="relative"),
        pytest.param("javascript:alert(document.cookie)", id="javascript"),
        pytest.param("data:text/html,<script>alert(1)</script>", id="data"),
    ],
)
async def test_form_post_with_a_bad_return_to_is_not_redirected(
    client, rds, return_to: str | None
) -> None:
    [captcha] = await mint(client)
    before = await snapshot(rds)
    response = await post_form(client, form_submission(captcha, return_to=return_to))  # type: ignore[arg-type]
    data = await expect_problem(response, 422, "validation-failed")
    assert "Location" not in response.headers
    assert "return_to" in error_fields(data)
    assert await snapshot(rds) == before


async def test_form_post_to_an_unknown_site_is_a_404(client) -> None:
    [captcha] = await mint(client)
    response = await post_form(client, form_submission(captcha), site_id="nope")
    await expect_problem(response, 404, "unknown-site")
    assert "Location" not in response.headers


# ----------------------------------------- invariant 1: 202 means stored


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
