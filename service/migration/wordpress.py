"""WordPress's export (WXR, an RSS file): each `<item>` is a post or page
(`<link>`, `wp:post_id`, `wp:post_name`) holding its `wp:comment` elements
(`wp:comment_id`, `wp:comment_parent` (0: none), `wp:comment_author`,
`wp:comment_author_email`, `wp:comment_date_gmt`, `wp:comment_content`,
`wp:comment_approved`, `wp:comment_type`). Pingbacks and trackbacks are
links from other sites, not readers' comments: they are skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from service.errors import InvalidImport
from service.migration.markup import html_text
from service.migration.records import Item, Progress, SourceComment, SourceThread, State
from service.migration.threads import ThreadMap
from service.migration.xmlsource import place, records, text_of, timestamp_ms

# comment_approved: 1, 0, spam, trash, and post-trashed for the comments of
# a post in the bin.
STATES: dict[str, State] = {
    "1": "approved",
    "0": "pending",
    "spam": "spam",
    "trash": "rejected",
    "post-trashed": "rejected",
}
NOT_COMMENTS = frozenset({"pingback", "trackback"})
NO_DATE = "0000-00-00 00:00:00"


def read(path: Path, threads: ThreadMap, progress: Progress) -> Iterator[Item]:
    for item in records(path, "rss", frozenset({"item"}), 2, progress):
        comments = item.findall("{*}comment")
        if not comments:
            continue
        post_id = (text_of(item, "post_id") or "").strip()
        where = place(item, f"item wp:post_id={post_id}")
        if not post_id:
            raise InvalidImport(f"{place(item, 'item')}: it has no wp:post_id")
        link = text_of(item, "link")
        yield SourceThread(post_id, threads.resolve(text_of(item, "post_name"), link, where), where)
        for comment in comments:
            if (text_of(comment, "comment_type") or "").strip() in NOT_COMMENTS:
                continue
            yield _comment(comment, post_id)


def _comment(element: etree._Element, post_id: str) -> SourceComment:
    source_id = (text_of(element, "comment_id") or "").strip()
    where = place(element, f"wp:comment_id={source_id}")
    if not source_id:
        raise InvalidImport(f"{place(element, 'wp:comment')}: it has no wp:comment_id")
    approved = (text_of(element, "comment_approved") or "").strip()
    if approved not in STATES:
        raise InvalidImport(f"{where}: unknown wp:comment_approved {approved!r}")
    parent = (text_of(element, "comment_parent") or "0").strip()
    date = (text_of(element, "comment_date_gmt") or "").strip()
    if date in ("", NO_DATE):
        # WordPress leaves the GMT date empty for some old comments: their
        # local date, read as UTC, is the best there is.
        date = (text_of(element, "comment_date") or "").strip()
    return SourceComment(
        source_id=source_id,
        thread_ref=post_id,
        parent=None if parent in ("", "0") else parent,
        name=html_text(text_of(element, "comment_author") or ""),
        email=(text_of(element, "comment_author_email") or "").strip(),
        body=html_text(text_of(element, "comment_content") or ""),
        created_ms=timestamp_ms(date, where, "wp:comment_date_gmt"),
        state=STATES[approved],
        place=where,
    )
