"""Invariant 7 under fuzzing: whatever body and headers a submission carries,
the answer is never a 500, and every refusal is a problem+json of a type the
contract names."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.http import problems
from service.http.intake import FORM_FIELDS
from service.http.state import SERVICES
from service.models import THREAD_PATTERN
from tests.helpers import ORIGIN, Client, keys_of, mint, submission

URL = "/v1/sites/news/comments"

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    # One app and one client serve every example of a test: that is the point.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

KNOWN = set(problems.CATALOGUE)
# What a submission may be answered; anything else (500 above all) is a bug.
EXPECTED_STATUS = {202, 303, 400, 404, 413, 415, 422, 429}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Text a header can carry: no control characters, which the client refuses to send.
header_text = st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), max_size=300)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=50)
    | st.sampled_from(["", " ", "\u0000", "\ud800", "a" * 300, "Nguyễn", "<script>"]),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
fuzzy_text = (
    st.text(max_size=120)
    | st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30)
    | st.sampled_from(
        [
            "",
            "   ",
            "ca-mau-2022-08-12",
            "duong@example.vn",
            "Nguyễn Thị Thùy Dương",
            "Nguye\u0302\u0303n",  # decomposed: NFC makes it Nguyễn
            "a\u202eb",
            "line\nbreak",
            "tab\there",
            "x" * 81,
            "x" * 5001,
            "javascript:alert(1)",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ]
    )
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/JSON",
        "application/merge-patch+json",
        "application/problem+json",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "text/plain",
        "text/html",
        "multipart/form-data; boundary=xyz",
        "application/octet-stream",
        "",
        ";",
        "application/",
        "/json",
        'application/json; charset="',
        "application/json;;;",
        "*/*",
    ]
) | header_text.map(lambda value: value.strip() or "x")


def extra_headers() -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "Idempotency-Key": header_text
            | st.sampled_from(['"quoted-key"', '""', '"', "k" * 256, "clé"]),
            "X-Request-Id": header_text | st.sampled_from(["ok-id_1.2", "x" * 64, "x" * 65]),
            "Origin": st.sampled_from([ORIGIN, "https://evil.example", "null"]) | header_text,
        },
    )


def same_origin(url: str) -> bool:
    """A page of the site's one origin (host names compare case-insensitively)."""
    try:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        return origin == ORIGIN and not parts.username and not parts.password
    except ValueError:
        return False


async def check(client: Client, data: bytes, headers: dict[str, str]) -> int:
    """Send one submission and hold its answer to the contract."""
    response = await client.post(URL, data=data, headers=headers, allow_redirects=False)
    text = await response.text()
    status = response.status
    assert status != 500, text
    assert status in EXPECTED_STATUS, (status, text)
    supplied = headers.get("X-Request-Id")
    answered = response.headers["X-Request-Id"]
    if supplied is not None and REQUEST_ID.match(supplied):
        assert answered == supplied
    else:
        assert re.fullmatch(r"[0-9a-f]{16}", answered), answered
    # Every answer of a rate-limited route carries both fields (the contract).
    assert "RateLimit-Policy" in response.headers
    assert "RateLimit" in response.headers, (status, text)
    if status == 202:
        accepted = json.loads(text)
        assert set(accepted) == {"id", "status"}
        assert accepted["status"] in {"pending", "approved"}
    elif status == 303:
        location = response.headers["Location"]
        assert same_origin(location), location
        assert "lb_status=" in location
    else:
        assert response.headers["Content-Type"].startswith("application/problem+json"), text
        problem = json.loads(text)
        assert {"type", "title", "status", "detail"} <= set(problem), problem
        name = problem["type"].removeprefix("/problems/")
        assert problem["type"] == f"/problems/{name}"
        assert name in KNOWN, problem
        assert problem["status"] == status == problems.CATALOGUE[name].status
        assert problem["title"] == problems.CATALOGUE[name].title
        assert isinstance(problem["detail"], str)
        if name == "validation-failed":
            assert problem["errors"], problem
            for error in problem["errors"]:
                assert isinstance(error["field"], str)
                assert error["field"]
                assert isinstance(error["message"], str)
        if name in ("rate-limited", "unavailable"):
            assert response.headers["Retry-After"].isdigit()
        if name == "method-not-allowed":
            assert response.headers["Allow"]
    return status


@FUZZ
@given(value=json_values, headers=extra_headers())
async def test_arbitrary_json_values(client: Client, value: Any, headers: dict[str, str]) -> None:
    data = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    status = await check(client, data, {**headers, "Content-Type": "application/json"})
    assert status != 202  # no captcha in there can be live


@FUZZ
@given(
    data=st.binary(max_size=400)
    | st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b'{"thread": "\xff"}',
            b'"\xed\xa0\x80"',
            b"\xef\xbb\xbf{}",
            b"{" + b" " * 70_000 + b"}",
        ]
    ),
    content_type=content_types,
    headers=extra_headers(),
)
async def test_arbitrary_bytes(
    client: Client, data: bytes, content_type: str, headers: dict[str, str]
) -> None:
    status = await check(client, data, {**headers, "Content-Type": content_type})
    assert status != 202


# Paths into a valid submission, each of which a fuzz example may replace.
ENVELOPE_PATHS = [
    ("thread",),
    ("parent_id",),
    ("author",),
    ("author", "name"),
    ("author", "email"),
    ("body",),
    ("captcha",),
    ("captcha", "id"),
    ("captcha", "answer"),
    ("extra",),
    ("author", "extra"),
]


FAKE_CAPTCHA = ("c" * 22, "ABCDE")


@FUZZ
@given(
    replaced=st.dictionaries(
        st.sampled_from(ENVELOPE_PATHS),
        fuzzy_text | json_values | st.none(),
        max_size=3,
    ),
    dropped=st.sets(st.sampled_from(ENVELOPE_PATHS[:-2]), max_size=1),
    real_captcha=st.booleans(),
    headers=extra_headers(),
)
async def test_arbitrary_fields_in_a_well_formed_envelope(
    client: Client,
    replaced: dict[tuple[str, ...], Any],
    dropped: set[tuple[str, ...]],
    real_captcha: bool,
    headers: dict[str, str],
) -> None:
    """A valid submission with a few fields replaced by anything, often with a
    live captcha, so that strange text also reaches the accept script."""
    captcha = (await mint(client))[0] if real_captcha else FAKE_CAPTCHA
    body = submission(captcha)
    for path, value in sorted(replaced.items(), key=lambda item: len(item[0])):
        target = body
        for part in path[:-1]:
            if not isinstance(target.get(part), dict):
                break
            target = target[part]
        else:
            target[path[-1]] = value
    for path in dropped:
        target = body
        for part in path[:-1]:
            inner = target.get(part)
            target = inner if isinstance(inner, dict) else {}
        target.pop(path[-1], None)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    status = await check(client, data, {**headers, "Content-Type": "application/json"})
    if not real_captcha:
        assert status != 202


FORM_BASE = {
    "thread": "ca-mau-2022-08-12",
    "parent_id": "",
    "name": "Nguyễn Thị Thùy Dương",
    "email": "duong@example.vn",
    "body": "Bài viết rất hay.\r\nĐoạn hai.",
    "return_to": ORIGIN + "/bai-viet/ca-mau?x=1&lb_status=old",
}
form_values = fuzzy_text | st.sampled_from(
    [
        ORIGIN + "/bai-viet",
        ORIGIN.upper() + "/a",
        "https://evil.example/",
        "//evil.example",
        "https://user:pw@news.example.vn/",
        "javascript:alert(1)",
        "https://news.example.vn.evil.example/",
    ]
)


@FUZZ
@given(
    replaced=st.dictionaries(
        st.sampled_from([*FORM_BASE, "captcha_id", "captcha_answer"]), form_values, max_size=3
    ),
    dropped=st.sets(st.sampled_from([*FORM_BASE, "captcha_id", "captcha_answer"]), max_size=2),
    extra=st.lists(
        st.tuples(st.sampled_from([*FORM_FIELDS, "return_to"]) | st.text(max_size=12), form_values),
        max_size=3,
    ),
    real_captcha=st.booleans(),
    raw_suffix=st.sampled_from(["", "", "", "&", "&&=", "%", "%zz", "%ff", "=&=", "&a=%C3"]),
    headers=extra_headers(),
)
async def test_arbitrary_form_bodies(
    client: Client,
    replaced: dict[str, str],
    dropped: set[str],
    extra: list[tuple[str, str]],
    real_captcha: bool,
    raw_suffix: str,
    headers: dict[str, str],
) -> None:
    captcha = (await mint(client))[0] if real_captcha else FAKE_CAPTCHA
    form = {**FORM_BASE, "captcha_id": captcha[0], "captcha_answer": captcha[1], **replaced}
    pairs = [(k, v) for k, v in form.items() if k not in dropped] + extra
    encoded = urlencode(pairs, encoding="utf-8", errors="surrogatepass") + raw_suffix
    status = await check(
        client,
        encoded.encode("ascii"),
        {**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    # Once the body reads as a form whose return_to is a page of the site,
    # every outcome goes back to that page as a redirect, and only then.
    try:
        parsed = parse_qsl(encoded, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        assert status != 303
        return
    return_to = [value for name, value in parsed if name == "return_to"]
    assert (status == 303) == (bool(return_to) and same_origin(return_to[0])), (status, return_to)


def as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def spaced_and_cased(answer: str, flips: list[bool], spaces: list[int]) -> str:
    chars = [c.lower() if flip else c for c, flip in zip(answer, flips, strict=False)]
    chars += list(answer[len(chars) :])
    for at in sorted(spaces, reverse=True):
        chars.insert(at % (len(chars) + 1), " ")
    return "".join(chars)


@FUZZ
@given(
    flips=st.lists(st.booleans(), min_size=5, max_size=5),
    spaces=st.lists(st.integers(0, 10), max_size=3),
    headers=extra_headers(),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/vnd.loibinh+json",
            "application/json ; charset=UTF-8",
        ]
    ),
)
async def test_valid_bodies_with_fuzzed_headers(
    client: Client,
    flips: list[bool],
    spaces: list[int],
    headers: dict[str, str],
    content_type: str,
) -> None:
    """A valid submission is accepted whatever else the headers say, with the
    captcha answer in any case and with spaces; only a malformed or reused
    Idempotency-Key is refused, and only as that field."""
    [captcha] = await mint(client)
    body = submission((captcha[0], spaced_and_cased(captcha[1], flips, spaces)))
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    status = await check(client, data, {**headers, "Content-Type": content_type})
    if status == 202:
        return
    assert status == 422, status
    assert "Idempotency-Key" in headers


@FUZZ
@given(
    name=st.text(max_size=100),
    body=st.text(max_size=400),
    email=st.emails() | fuzzy_text,
    thread=st.from_regex(THREAD_PATTERN, fullmatch=True) | fuzzy_text,
    ascii_only=st.booleans(),
)
async def test_arbitrary_text_in_the_fields(
    client: Client, name: str, body: str, email: str, thread: str, ascii_only: bool
) -> None:
    """Any text in the free fields, with a live captcha: refused field by field,
    or stored exactly as the reader wrote it, NFC-normalised and trimmed."""
    [captcha] = await mint(client)
    submitted = submission(captcha)
    submitted.update(thread=thread, body=body)
    submitted["author"] = {"name": name, "email": email}
    data = json.dumps(submitted, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    response = await client.post(URL, data=data, headers={"Content-Type": "application/json"})
    text = await response.text()
    assert response.status in {202, 400, 422}, text
    if response.status == 202:
        comment_id = json.loads(text)["id"]
        raw = await client.app[SERVICES].redis.hgetall(keys_of(client).comment(comment_id))
        stored = {as_bytes(k): as_bytes(v) for k, v in raw.items()}
        expected_body = unicodedata.normalize("NFC", body.replace("\r\n", "\n").replace("\r", "\n"))
        assert stored[b"body"].decode() == expected_body.strip()
        assert stored[b"name"].decode() == unicodedata.normalize("NFC", name).strip()
        assert stored[b"thread"].decode() == thread
    elif response.status == 422:
        fields = {error["field"] for error in json.loads(text)["errors"]}
        assert fields <= {"thread", "author.name", "author.email", "body"}, fields
    else:
        assert json.loads(text)["type"] in {"/problems/invalid-json", "/problems/captcha-failed"}
