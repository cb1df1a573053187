"""Disqus's XML export: `<thread>` elements first (a `dsq:id`, the site's
own identifier in `<id>`, the page's `<link>`), then `<post>` elements (a
`dsq:id`, the HTML `<message>`, `<createdAt>`, `<isDeleted>`, `<isSpam>`,
an optional `<isApproved>`, `<author>` with `<name>` and `<email>`, and the
`dsq:id` of its `<thread>` and of its `<parent>`, if it replies)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from service.errors import InvalidImport
from service.migration.markup import html_text
from service.migration.records import Item, Progress, SourceComment, SourceThread, State
from service.migration.threads import ThreadMap
from service.migration.xmlsource import place, records, text_of, timestamp_ms

DSQ_ID = "{http://disqus.com/disqus-internals}id"


def read(path: Path, threads: ThreadMap, progress: Progress) -> Iterator[Item]:
    for element in records(path, "disqus", frozenset({"thread", "post"}), 1, progress):
        kind = etree.QName(element).localname
        source_id = element.get(DSQ_ID)
        where = place(element, f"{kind} dsq:id={source_id}")
        if not source_id:
            raise InvalidImport(f"{place(element, kind)}: it has no dsq:id")
        if kind == "thread":
            identifier, link = text_of(element, "id"), text_of(element, "link")
            yield SourceThread(source_id, threads.resolve(identifier, link, where), where)
        else:
            yield _post(element, source_id, where)


def _post(element: etree._Element, source_id: str, where: str) -> SourceComment:
    thread = element.find("{*}thread")
    thread_ref = thread.get(DSQ_ID) if thread is not None else None
    if not thread_ref:
        raise InvalidImport(f"{where}: it names no thread")
    parent = element.find("{*}parent")
    state: State = "approved"
    if _flag(element, "isSpam", where):
        state = "spam"
    elif _flag(element, "isDeleted", where):
        state = "rejected"
    elif text_of(element, "isApproved") is not None and not _flag(element, "isApproved", where):
        state = "pending"
    return SourceComment(
        source_id=source_id,
        thread_ref=thread_ref,
        parent=parent.get(DSQ_ID) if parent is not None else None,
        name=text_of(element, "author", "name") or text_of(element, "author", "username") or "",
        email=text_of(element, "author", "email") or "",
        body=html_text(text_of(element, "message") or ""),
        created_ms=timestamp_ms(text_of(element, "createdAt"), where, "createdAt"),
        state=state,
        place=where,
    )


def _flag(element: etree._Element, name: str, where: str) -> bool:
    value = (text_of(element, name) or "false").strip().lower()
    if value not in ("true", "false"):
        raise InvalidImport(f"{where}: <{name}> is {value!r}, not true or false")
    return value == "true"
