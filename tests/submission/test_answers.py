"""POST /v1/sites/{site}/comments: every answer of the route, from the 202
to each refusal (400, 404, 413, 415, 422, 429), and the pages that explain
the problems."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.helpers import (
    THREAD,
    accepted,
    comment_keys,
    expect_problem,
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
    error_fields,
    limits,
    padded,
    pending_ids,
    post,
    published,
    retry_after,
    snapshot,
)


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
