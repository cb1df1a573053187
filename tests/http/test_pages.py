"""The widget's files, the no-JavaScript form page, the demo article and the
dashboard's shell (issue 6), as HTTP answers; tests/test_browser.py drives
them in a real browser."""

from __future__ import annotations

import gzip
import re
import socket
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from service.http import assets
from tests.helpers import (
    THREAD,
    Client,
    approve,
    form_submission,
    mint,
    rate_limits,
    site,
    submission,
)

FORM = f"/v1/sites/news/threads/{THREAD}/form"
WIDGET_BUDGET = 15 * 1024


class Fields(HTMLParser):
    """The form page's inputs (name -> value) and its form's action."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self.action = ""
        self.scripts = 0
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self.action = named.get("action") or ""
        if tag == "script":
            self.scripts += 1
        if tag in ("input", "textarea") and named.get("name"):
            self.values[str(named["name"])] = named.get("value") or ""
        if tag == "textarea":
            self._textarea = named.get("name")
            self.texts[str(self._textarea)] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.texts[self._textarea] += data


def parse(page: str) -> Fields:
    fields = Fields()
    fields.feed(page)
    return fields


# ------------------------------------------------------------------ the widget's files


def test_widget_is_under_its_budget_gzipped() -> None:
    size = sum(len(gzip.compress(assets.asset(n).body, 9)) for n in ("loibinh.js", "loibinh.css"))
    assert size < WIDGET_BUDGET, size


def test_widget_makes_no_request_of_its_own_to_third_parties() -> None:
    script = assets.text("loibinh.js")
    # The only other origins named are the captcha providers, loaded when a site chooses one.
    origins = set(re.findall(r"https://[a-z0-9.-]+", script))
    assert origins == {
        "https://challenges.cloudflare.com",
        "https://js.hcaptcha.com",
        "https://www.google.com",
    }
    assert "https://" not in assets.text("loibinh.css")


async def test_widget_files_with_etag_gzip_and_304(client: Client) -> None:
    for name, kind in (("loibinh.js", "text/javascript"), ("loibinh.css", "text/css")):
        response = await client.get(f"/widget/v1/{name}", headers={"Accept-Encoding": "gzip"})
        assert response.status == 200
        assert response.content_type == kind
        assert response.headers["Content-Encoding"] == "gzip"
        assert "max-age=" in response.headers["Cache-Control"]
        assert await response.read() == assets.asset(name).body  # the client inflated it
        etag = response.headers["ETag"]
        again = await client.get(f"/widget/v1/{name}", headers={"If-None-Match": etag})
        assert again.status == 304
        assert again.headers["ETag"] == etag
    missing = await client.get("/widget/v1/moderate.js")
    assert missing.status == 404
    assert (await client.get("/static/loibinh.py")).status == 404
    assert (await client.get("/static/moderate.js")).status == 200


# ------------------------------------------------------------------ the demo and dashboard


async def test_demo_only_in_development_mode(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    production = await make_client()
    assert (await production.get("/")).status == 404
    development = await make_client(mode="development", sites={"demo": site()})
    response = await development.get("/")
    assert response.status == 200
    page = await response.text()
    assert 'data-loibinh-site="demo"' in page
    assert '<script src="/widget/v1/loibinh.js" defer></script>' in page
    assert "Cà Mau" in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy


async def test_dashboard_shell_is_strict(client: Client) -> None:
    response = await client.get("/moderate/")
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = await response.text()
    assert "<script src=" in page and "<script>" not in page  # no inline script
    moved = await client.get("/moderate", allow_redirects=False)
    assert moved.status == 308
    assert moved.headers["Location"] == "/moderate/"


async def test_dashboard_sign_in_names_no_site(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    """Issue 13: the sign-in page listed every tenant's site id to anyone."""
    client = await make_client(
        sites={"tin-tuc-bi-mat": site(), "bao-khac-9": site(), "news": site()}
    )
    page = await (await client.get("/moderate/")).text()
    script = await (await client.get("/static/moderate.js")).text()
    for site_id in ("tin-tuc-bi-mat", "bao-khac-9"):
        assert site_id not in page
        assert site_id not in script
    assert "news" not in page
    assert "<datalist" not in page


# ------------------------------------------------------------------ the form page


async def test_form_page_posts_and_shows_the_outcome(client: Client) -> None:
    response = await client.get(FORM)
    assert response.status == 200
    assert "RateLimit" in response.headers
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in policy
    assert "frame-ancestors 'self' https://news.example.vn" in policy
    page = await response.text()
    fields = parse(page)
    assert fields.scripts == 0
    assert fields.action == "/v1/sites/news/comments"
    assert fields.values["return_to"] == FORM
    assert set(fields.values) >= {"name", "email", "body", "captcha_id", "captcha_answer"}
    assert fields.values["website"] == ""
    # The page's challenge is a live one: refused when answered wrong, the
    # page comes back with what was typed, the problem and a new challenge
    # (issue 14), and nothing typed travels in a URL.
    form = dict(fields.values, name="Dương", email="duong@example.vn", body="Hay <b>quá</b>")
    form["captcha_answer"] = "ZZZZZ"
    posted = await client.post("/v1/sites/news/comments", data=form, allow_redirects=False)
    assert posted.status == 400
    assert "Location" not in posted.headers
    assert posted.headers["Cache-Control"] == "no-store"
    shown = await posted.text()
    assert "Mã xác thực chưa đúng" in shown
    again = parse(shown)
    assert again.values["captcha_id"] != fields.values["captcha_id"]
    assert again.values["name"] == "Dương"
    assert again.values["email"] == "duong@example.vn"
    assert again.texts["body"] == "Hay <b>quá</b>"  # escaped in the page, given back as typed
    assert "Hay &lt;b&gt;quá&lt;/b&gt;" in shown
    assert again.values["return_to"] == FORM
    # A site's own form elsewhere still gets its 303 with the outcome.
    [captcha] = await mint(client)
    elsewhere = form_submission(
        (captcha[0], "ZZZZZ"),
        name="A",
        email="a@example.vn",
        body="x",
        return_to="https://news.example.vn/a/1",
    )
    posted = await client.post("/v1/sites/news/comments", data=elsewhere, allow_redirects=False)
    assert posted.status == 303
    query = parse_qs(urlsplit(posted.headers["Location"]).query)
    assert query["lb_problem"] == ["captcha-failed"]


async def test_form_page_head_issues_no_captcha(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await make_client(
        sites={"news": site(rate_limits=rate_limits(captcha_per_ip=(1, 60)))}
    )
    for _ in range(3):
        head = await client.head(FORM)
        assert head.status == 200
        assert head.content_type == "text/html"
        assert "script-src 'none'" in head.headers["Content-Security-Policy"]
    # The one challenge the limit allows is still there for the reader's GET.
    assert (await client.get(FORM)).status == 200
    assert (await client.get(FORM)).status == 429


async def test_form_page_is_titled_and_links_to_the_article(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await make_client(
        sites={"news": site(thread_url="https://news.example.vn/bai-viet/{thread}.html")}
    )
    page = await (await client.get(FORM, params={"title": "Mùa cua <Cà Mau>\x07"})).text()
    assert "<title>Bình luận · Mùa cua &lt;Cà Mau&gt;</title>" in page
    assert "<h1>Mùa cua &lt;Cà Mau&gt;</h1>" in page
    assert f'<a href="https://news.example.vn/bai-viet/{THREAD}.html">← Về bài viết</a>' in page
    fields = parse(page)
    # The title stays with the page after a post (it is in return_to).
    assert parse_qs(urlsplit(fields.values["return_to"]).query)["title"] == ["Mùa cua <Cà Mau>"]
    untitled = await (await client.get(FORM)).text()
    assert f"<h1>Bình luận · {THREAD}</h1>" in untitled


async def test_form_page_accepts_a_right_answer(client: Client) -> None:
    [(challenge_id, answer)] = await mint(client)
    form = form_submission(
        (challenge_id, answer),
        name="Nguyễn Văn A",
        email="a@example.vn",
        body="Cảm ơn tác giả.",
        return_to=FORM + "?lang=en",
    )
    posted = await client.post("/v1/sites/news/comments", data=form, allow_redirects=False)
    assert posted.status == 303
    location = posted.headers["Location"]
    assert parse_qs(urlsplit(location).query)["lb_status"] == ["pending"]
    shown = await client.get(location)
    text = await shown.text()
    assert '<html lang="en">' in text
    assert "awaiting moderation" in text


@pytest.mark.parametrize(
    "return_to",
    [
        "//evil.example/v1/sites/news/threads/t/form",
        "https://evil.example/v1/sites/news/threads/t/form",
        "/v1/sites/sport/threads/t/form",  # another site's page
        "/v1/sites/news/threads/t/form/../../../../evil",
        "/v1/sites/news/threads/t/form?x=\r\nSet-Cookie:a=b",
        "/v1/sites/news/comments",
    ],
)
async def test_form_return_to_is_never_an_open_redirect(client: Client, return_to: str) -> None:
    [captcha] = await mint(client)
    form = form_submission(captcha, name="A", email="a@example.vn", body="x", return_to=return_to)
    posted = await client.post("/v1/sites/news/comments", data=form, allow_redirects=False)
    assert posted.status == 422
    assert "Location" not in posted.headers


async def test_form_page_escapes_comments_and_outcome(client: Client) -> None:
    [captcha] = await mint(client)
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    response = await client.post(
        "/v1/sites/news/comments",
        json=submission(captcha, author={"name": evil, "email": "x@example.vn"}, body=evil),
    )
    assert response.status == 202
    assert await approve(client, (await response.json())["id"])
    page = await (
        await client.get(FORM, params={"lb_status": "error", "lb_problem": evil, "lb_fields": evil})
    ).text()
    assert "<script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;" in page
    assert "onerror=" not in page.replace("onerror=&quot;", "")


async def test_form_page_when_captchas_are_rate_limited(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await make_client(
        sites={"news": site(rate_limits=rate_limits(captcha_per_ip=(1, 60)))}
    )
    assert (await client.get(FORM)).status == 200
    limited = await client.get(FORM)
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) > 0
    fields = parse(await limited.text())
    assert "captcha_id" not in fields.values
    # The issue path itself is shared with the API: its refusal counts the same.
    assert (await client.post("/v1/sites/news/captchas")).status == 429


async def test_form_page_of_unknown_site_or_bad_thread(client: Client) -> None:
    assert (await client.get(f"/v1/sites/nope/threads/{THREAD}/form")).status == 404
    assert (await client.get("/v1/sites/news/threads/-bad/form")).status == 422


async def test_form_page_when_redis_is_unreachable(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = await make_client(
        redis={"url": f"redis://127.0.0.1:{port}/0", "connect_timeout": 0.2, "timeout": 0.2}
    )
    response = await client.get(FORM)
    assert response.status == 503
    assert response.headers["Retry-After"] == "2"
    assert response.content_type == "text/html"
    assert "captcha_id" not in parse(await response.text()).values
