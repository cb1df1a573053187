"""Comment text to safe HTML (the contract's invariant 6, docs/contract.md).

Comments are plain text. Everything a reader wrote is escaped; the only markup
is what this module adds: paragraphs, line breaks and links to http(s) URLs
with rel="nofollow ugc noopener". No input can produce a tag, an attribute or a
URL scheme of its own.
"""

from __future__ import annotations

import re
from html import escape

_PARAGRAPHS = re.compile(r"\n[ \t]*\n\s*")
_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
# Punctuation that usually ends the sentence rather than the URL.
_TRAILING = ".,;:!?)]}'\"»”’"


def body_html(body: str) -> str:
    text = body.strip()
    if "\n" not in text:
        # One line, as most comments are: one paragraph, no split or join.
        return f"<p>{_linkify(text)}</p>" if text else ""
    paragraphs = [p for p in _PARAGRAPHS.split(text) if p]
    return "".join(f"<p>{_paragraph(p)}</p>" for p in paragraphs)


def _paragraph(text: str) -> str:
    return "<br>".join(_linkify(line) for line in text.split("\n"))


def _linkify(line: str) -> str:
    if "://" not in line:
        return escape(line)  # most lines hold no link: skip the search
    out: list[str] = []
    last = 0
    for match in _URL.finditer(line):
        url = match.group().rstrip(_TRAILING)
        if url.count(")") < url.count("(") and match.group()[len(url) :].startswith(")"):
            url += ")"  # keep the closing parenthesis of a Wikipedia-style URL
        start, end = match.start(), match.start() + len(url)
        out.append(escape(line[last:start]))
        href = escape(url, quote=True)
        out.append(f'<a href="{href}" rel="nofollow ugc noopener">{href}</a>')
        last = end
    out.append(escape(line[last:]))
    return "".join(out)
