"""Invariant 6, safe output: comment text becomes escaped HTML with only the
paragraphs, line breaks and links the service adds, both in render.body_html
and in what the public read serves."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.text.render import body_html
from tests.helpers import approve, mint, submission

REL = "nofollow ugc noopener"


@dataclass
class Parsed:
    """What an HTML parser makes of body_html's output."""

    tags: list[tuple[str, dict[str, str | None], list[tuple[str, str | None]]]] = field(
        default_factory=list
    )
    ends: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # comments, declarations, PIs...
    text: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, link text)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = Parsed()
        self._link: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.tags.append((tag, dict(attrs), attrs))
        if tag == "br":
            self.out.text += "\n"
        elif tag == "p" and self.out.text:
            self.out.text += "\n\n"
        elif tag == "a":
            self._link = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.other.append(f"self-closing <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self.out.ends.append(tag)
        if tag == "a" and self._link is not None:
            href = self.out.tags[-1][1].get("href") or ""
            self.out.links.append((href, "".join(self._link)))
            self._link = None

    def handle_data(self, data: str) -> None:
        self.out.text += data
        if self._link is not None:
            self._link.append(data)

    def handle_comment(self, data: str) -> None:
        self.out.other.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.out.other.append(f"declaration {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.out.other.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.out.other.append(f"unknown declaration {data!r}")


def parse(markup: str) -> Parsed:
    collector = _Collector()
    collector.feed(markup)
    collector.close()
    return collector.out


def assert_safe(markup: str) -> Parsed:
    """Only p, br and a; every a has exactly href (http or https) and rel."""
    parsed = parse(markup)
    assert parsed.other == [], markup
    for tag, attrs, raw_attrs in parsed.tags:
        assert tag in {"p", "br", "a"}, markup
        if tag == "a":
            assert [name for name, _ in raw_attrs] == ["href", "rel"], markup
            href = attrs["href"] or ""
            assert re.match(r"https?://", href, re.IGNORECASE), markup
            assert not re.search(r"[\s\"'<>`]", href), markup
            assert attrs["rel"] == REL, markup
        else:
            assert raw_attrs == [], markup
    starts = [t for t, _, _ in parsed.tags if t != "br"]
    assert sorted(starts) == sorted(parsed.ends), markup
    # Links never nest and paragraphs are never left open.
    assert not re.search(r"<a [^>]*>[^<]*<a ", markup), markup
    return parsed


def normalise(text: str) -> str:
    """Text compared modulo whitespace: every run of it is one space."""
    return " ".join(text.split())


# ----------------------------------------------------------- examples


def test_plain_text_is_one_paragraph() -> None:
    assert body_html("Bài viết rất hay.") == "<p>Bài viết rất hay.</p>"


def test_blank_lines_make_paragraphs_and_newlines_breaks() -> None:
    assert body_html("Một\nHai\n\nBa\n \n\n\nBốn") == "<p>Một<br>Hai</p><p>Ba</p><p>Bốn</p>"


def test_surrounding_blank_lines_make_no_empty_paragraph() -> None:
    assert body_html("\n\nMột\n\n") == "<p>Một</p>"
    assert "<p></p>" not in body_html("Một\n\n\n\n\nHai")


def test_script_is_escaped() -> None:
    markup = body_html("<script>alert('x')</script>")
    assert markup == "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</p>"
    assert parse(markup).text == "<script>alert('x')</script>"


@pytest.mark.parametrize(
    "text",
    [
        '<img src=x onerror="alert(1)">',
        "<a href='javascript:alert(1)'>click</a>",
        '" onmouseover="alert(1)',
        "' autofocus onfocus='alert(1)",
        "<svg/onload=alert(1)>",
        "<!-- comment --><![CDATA[x]]><?php echo 1 ?>",
        "<p onclick=alert(1)>fake paragraph</p>",
        "&lt;script&gt; &amp; &#60;b&#62; &#x3C;",
        "</p><script>x</script><p>",
    ],
)
def test_markup_in_text_is_never_markup(text: str) -> None:
    markup = body_html(text)
    parsed = assert_safe(markup)
    assert [t for t, _, _ in parsed.tags] == ["p"]
    assert parsed.text == text
    assert "<" not in markup.removeprefix("<p>").removesuffix("</p>")
    assert '"' not in markup
    assert "'" not in markup


@pytest.mark.parametrize("scheme", ["http", "https", "HTTPS"])
def test_http_links_get_rel(scheme: str) -> None:
    url = f"{scheme}://vnexpress.net/ca-mau-4500000.html?a=1&b=2"
    markup = body_html(f"Xem {url} nhé")
    href = url.replace("&", "&amp;")
    assert markup == f'<p>Xem <a href="{href}" rel="{REL}">{href}</a> nhé</p>'
    assert assert_safe(markup).links == [(url, url)]


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(document.cookie)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "ftp://files.example/x",
        "//evil.example/x",
        "www.example.vn",
        "mailto:duong@example.vn",
    ],
)
def test_other_schemes_never_become_links(text: str) -> None:
    markup = body_html(f"bấm vào {text} đi")
    parsed = assert_safe(markup)
    assert parsed.links == []
    assert "<a" not in markup
    assert parsed.text == f"bấm vào {text} đi"


def test_javascript_url_hidden_inside_an_http_url_stays_text() -> None:
    parsed = assert_safe(body_html("https://x.example/?next=javascript:alert(1)"))
    assert [href for href, _ in parsed.links] == ["https://x.example/?next=javascript:alert(1)"]
    parsed = assert_safe(body_html("javascript:https://x.example/"))
    assert [href for href, _ in parsed.links] == ["https://x.example/"]


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ('https://x.example/a"onmouseover="alert(1)', "https://x.example/a"),
        ("https://x.example/a'onmouseover='alert(1)", "https://x.example/a"),
        ("https://x.example/a`b", "https://x.example/a"),
        ("https://x.example/a<script>", "https://x.example/a"),
        ("https://x.example/a>b", "https://x.example/a"),
        (
            "https://x.example/&quot;onmouseover=alert(1)",
            "https://x.example/&quot;onmouseover=alert(1)",
        ),
    ],
)
def test_a_quote_cannot_break_out_of_href(text: str, href: str) -> None:
    markup = body_html(text)
    parsed = assert_safe(markup)
    assert [h for h, _ in parsed.links] == [href]
    assert parsed.text == text
    # Whatever followed the quote is text after the link, not an attribute.
    assert markup.startswith(f'<p><a href="{html.escape(href)}" rel="{REL}">')


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("Xem https://example.vn/bai-viet.", "https://example.vn/bai-viet"),
        ("Xem https://example.vn/bai-viet, hay lắm", "https://example.vn/bai-viet"),
        ("(https://example.vn/x)", "https://example.vn/x"),
        (
            "https://vi.wikipedia.org/wiki/Cà_Mau_(tỉnh)",
            "https://vi.wikipedia.org/wiki/Cà_Mau_(tỉnh)",
        ),
        ("(https://vi.wikipedia.org/wiki/X_(y))", "https://vi.wikipedia.org/wiki/X_(y)"),
        ("«https://example.vn/»", "https://example.vn/"),
    ],
)
def test_trailing_punctuation_is_not_part_of_the_link(text: str, href: str) -> None:
    parsed = assert_safe(body_html(text))
    assert [h for h, _ in parsed.links] == [href]
    assert parsed.text == text


def test_two_links_on_one_line_and_across_lines() -> None:
    parsed = assert_safe(body_html("http://a.example https://b.example\nhttp://c.example"))
    assert [h for h, _ in parsed.links] == [
        "http://a.example",
        "https://b.example",
        "http://c.example",
    ]


# ------------------------------------------------------------- property

FRAGMENTS = [
    "http://",
    "https://",
    "HTTP://",
    "javascript:",
    "data:",
    "vbscript:",
    "x.example/",
    "?a=1&b=2",
    "#frag",
    "<",
    ">",
    "&",
    "&amp;",
    "&#x3C;",
    '"',
    "'",
    "`",
    "=",
    " ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    " \n \n",
    "(",
    ")",
    ".",
    ",",
    "<script>",
    "</p>",
    "<a href=",
    " onerror=",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "Nguyễn",
    "ờ",
    "e\u0301",
]

comment_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=30
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(comment_text)
def test_any_text_renders_to_safe_html_with_the_same_text(text: str) -> None:
    markup = body_html(text)
    parsed = assert_safe(markup)
    assert normalise(parsed.text) == normalise(text)
    for href, label in parsed.links:
        assert label == href
        assert href in text
    # Every character of markup the reader typed arrives escaped.
    stripped = re.sub(r"</?p>|<br>|<a href=\"[^\"]*\" rel=\"[^\"]*\">|</a>", "", markup)
    assert "<" not in stripped
    assert ">" not in stripped
    assert '"' not in stripped
    assert html.unescape(stripped).count("<") == text.count("<")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_unicode_renders_safely(text: str) -> None:
    parsed = assert_safe(body_html(text))
    assert normalise(parsed.text) == normalise(text)


# ------------------------------------------------- through the public read


HOSTILE = (
    "<script>alert(1)</script> \"quoted\" 'single' & done\r\n"
    "javascript:alert(1) data:text/html,x vbscript:y\r\n\r\n"
    'See https://vnexpress.net/ca-mau?a=1&b="x" and <img src=x onerror=alert(1)>'
)


async def test_public_read_serves_the_body_escaped(client) -> None:
    [captcha] = await mint(client)
    response = await client.post("/v1/sites/news/comments", json=submission(captcha, body=HOSTILE))
    assert response.status == 202, await response.text()
    comment_id = (await response.json())["id"]
    assert await approve(client, comment_id)
    page = await (await client.get("/v1/sites/news/threads/ca-mau-2022-08-12/comments")).json()
    [comment] = page["comments"]
    markup = comment["body_html"]
    parsed = assert_safe(markup)
    assert [t for t, _, _ in parsed.tags] == ["p", "br", "p", "a"]
    assert parsed.links == [
        ("https://vnexpress.net/ca-mau?a=1&b=", "https://vnexpress.net/ca-mau?a=1&b=")
    ]
    assert normalise(parsed.text) == normalise(HOSTILE)
    assert "<script" not in markup
    assert "<img" not in markup
    assert 'href="javascript' not in markup.lower()


async def test_public_read_name_is_plain_text_not_html(client) -> None:
    [captcha] = await mint(client)
    author = {"name": '<b>Dương</b> & "Co"', "email": "duong@example.vn"}
    response = await client.post("/v1/sites/news/comments", json=submission(captcha, author=author))
    assert response.status == 202, await response.text()
    assert await approve(client, (await response.json())["id"])
    response = await client.get("/v1/sites/news/threads/ca-mau-2022-08-12/comments")
    assert response.content_type == "application/json"
    [comment] = (await response.json())["comments"]
    # The name is JSON text for the widget to insert as text, exactly as written.
    assert comment["author"] == {"name": '<b>Dương</b> & "Co"'}
