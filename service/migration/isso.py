"""Isso's SQLite database, opened read-only: `threads` (id, uri, title) and
`comments` (tid, id, parent, created in epoch seconds, mode: 1 accepted, 2
waiting for moderation, 4 deleted, author, email, text). Isso keeps the
Markdown its readers typed, which loibinh stores as the plain text it is."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from service.errors import InvalidImport
from service.migration.records import Item, Progress, SourceComment, SourceThread, State
from service.migration.threads import ThreadMap

MODES: dict[int, State] = {1: "approved", 2: "pending", 4: "rejected"}
# Isso blanks a deleted comment that has replies, and keeps its row.
DELETED = "[deleted in Isso]"


def read(path: Path, threads: ThreadMap, progress: Progress) -> Iterator[Item]:
    if not path.is_file():
        raise InvalidImport(f"cannot open {path.name}: no such file")
    try:
        database = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidImport(f"cannot open {path.name}: {exc}") from None
    with closing(database):
        try:
            yield from _rows(database, threads, progress)
        except sqlite3.DatabaseError as exc:
            raise InvalidImport(f"{path.name} is not an Isso database: {exc}") from None


def _rows(database: sqlite3.Connection, threads: ThreadMap, progress: Progress) -> Iterator[Item]:
    (total,) = database.execute("SELECT count(*) FROM comments").fetchone()
    progress.start("reading", total)
    for tid, uri in database.execute("SELECT id, uri FROM threads ORDER BY id"):
        where = f"thread {tid} ({uri})"
        yield SourceThread(str(tid), threads.resolve(None, uri, where), where)
    rows = database.execute(
        "SELECT id, tid, parent, created, mode, author, email, text FROM comments ORDER BY id"
    )
    for comment_id, tid, parent, created, mode, author, email, text in rows:
        where = f"comment {comment_id}"
        if mode not in MODES:
            raise InvalidImport(f"{where}: unknown mode {mode!r} (1, 2 or 4)")
        if not isinstance(created, int | float):
            raise InvalidImport(f"{where}: created {created!r} is not a time")
        progress.advance(1)
        yield SourceComment(
            source_id=str(comment_id),
            thread_ref=str(tid),
            parent=None if parent is None else str(parent),
            name=author or "",
            email=email or "",
            body=text or (DELETED if mode == 4 else ""),
            created_ms=int(created * 1000),
            state=MODES[mode],
            place=where,
        )
