"""A submission's validation in detail: NFC, line endings, control and bidi
characters, lone surrogates, and lengths and patterns after trimming."""

from __future__ import annotations

import json
import unicodedata

import pytest

from tests.helpers import (
    PROBLEM,
    accepted,
    comment_keys,
    expect_problem,
    mint,
    stored,
    submission,
    submit_ok,
)
from tests.submission.helpers import URL, captcha_live, error_fields, post, snapshot


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
