"""The HTML that Disqus and WordPress keep of a comment, as the plain text
loibinh stores: paragraphs and line breaks as newlines, a link's address
kept beside its words, every other tag dropped. lxml's HTML parser knows
HTML's named entities and never loads a DTD."""

from __future__ import annotations

import re

from lxml import etree, html

_BLOCKS = frozenset({"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4"})
_SILENT = frozenset({"script", "style", "head", "title"})
_SPACE_LINES = re.compile(r"[ \t]+\n")
_MANY_LINES = re.compile(r"\n{3,}")


def html_text(fragment: str) -> str:
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    try:
        root = html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return fragment.strip()  # not markup after all: a "<3" or a lone "&"
    out: list[str] = []
    _walk(root, out)
    text = _SPACE_LINES.sub("\n", "".join(out))
    return _MANY_LINES.sub("\n\n", text).strip()


def _walk(element: html.HtmlElement, out: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _SILENT:
        return
    if tag == "br":
        out.append("\n")
    if tag and element.text:
        out.append(element.text)
    for child in element:
        _walk(child, out)
        if child.tail:
            out.append(child.tail)
    if tag == "a":
        href = (element.get("href") or "").strip()
        if href.startswith(("http://", "https://")) and href != element.text_content().strip():
            out.append(f" ({href})")
    if tag in _BLOCKS:
        out.append("\n\n")
