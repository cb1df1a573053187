"""An import staged on disk before anything is stored: every record read,
checked and linked to its thread and parent in a throwaway SQLite database,
so that a bad record anywhere in the file stops the import before its first
comment is stored, and memory stays the same whatever the file's size."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.errors import InvalidImport
from service.ids import new_comment_id
from service.migration.records import REMOVED, Item, SourceComment, SourceThread

_SCHEMA = """
CREATE TABLE threads (ref TEXT PRIMARY KEY, thread TEXT NOT NULL, place TEXT NOT NULL);
CREATE TABLE comments (
  source TEXT PRIMARY KEY, thread_ref TEXT NOT NULL, parent TEXT, name TEXT NOT NULL,
  email TEXT NOT NULL, body TEXT NOT NULL, created_ms INTEGER NOT NULL, state TEXT NOT NULL,
  visible INTEGER NOT NULL, reasons TEXT, place TEXT NOT NULL, id TEXT NOT NULL,
  parent_id TEXT,
  done INTEGER NOT NULL DEFAULT 0);
CREATE INDEX comments_parent ON comments (parent);
-- Parents imported by an earlier run: their comment ids and threads.
CREATE TABLE known (source TEXT PRIMARY KEY, id TEXT NOT NULL, thread TEXT NOT NULL);
"""
# records.REMOVED, as SQL.
_REMOVED = "('rejected', 'spam')"
assert str(REMOVED) == _REMOVED
# Ids are 48 bits of milliseconds (ids.py).
_LAST_MS = 2**48 - 1


@dataclass(frozen=True, slots=True)
class Staged:
    """One comment as it will be stored."""

    source_id: str
    id: str
    thread: str
    parent_id: str | None
    name: str
    email: str
    body: str
    created_ms: int
    state: str
    visible: bool
    reasons: str | None


Check = Callable[[SourceComment], SourceComment]


class Staging:
    def __init__(self, path: Path) -> None:
        # Used by one task at a time, from the thread that reads the file
        # and then from the event loop's.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def fill(self, items: Iterable[Item], check: Check) -> int:
        """Stage every item; the number of comments read."""
        count = 0
        self._db.execute("BEGIN")
        for item in items:
            if isinstance(item, SourceThread):
                self._thread(item)
            else:
                self._comment(check(item))
                count += 1
        self._db.execute("COMMIT")
        return count

    def _thread(self, thread: SourceThread) -> None:
        found = self._db.execute(
            "SELECT thread, place FROM threads WHERE ref = ?", (thread.ref,)
        ).fetchone()
        if found is None:
            self._db.execute(
                "INSERT INTO threads VALUES (?, ?, ?)", (thread.ref, thread.thread, thread.place)
            )
        elif found[0] != thread.thread:
            raise InvalidImport(f"{thread.place}: the same thread as {found[1]}, mapped elsewhere")

    def _comment(self, comment: SourceComment) -> None:
        if not 0 <= comment.created_ms <= _LAST_MS:
            raise InvalidImport(f"{comment.place}: its date is out of range")
        try:
            self._db.execute(
                "INSERT INTO comments (source, thread_ref, parent, name, email, body, created_ms,"
                " state, visible, reasons, place, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    comment.source_id,
                    comment.thread_ref,
                    comment.parent,
                    comment.name,
                    comment.email,
                    comment.body,
                    comment.created_ms,
                    comment.state,
                    int(comment.visible),
                    comment.reasons,
                    comment.place,
                    comment.own_id or new_comment_id(comment.created_ms),
                ),
            )
        except sqlite3.IntegrityError:
            (other,) = self._db.execute(
                "SELECT place FROM comments WHERE source = ?", (comment.source_id,)
            ).fetchone()
            raise InvalidImport(
                f"{comment.place}: the same id as {other}; ids must be unique"
            ) from None

    def check_threads(self) -> None:
        orphan = self._db.execute(
            "SELECT c.place, c.thread_ref FROM comments c LEFT JOIN threads t"
            " ON t.ref = c.thread_ref WHERE t.ref IS NULL ORDER BY c.rowid LIMIT 1"
        ).fetchone()
        if orphan:
            raise InvalidImport(f"{orphan[0]}: its thread {orphan[1]} is not in the file")

    def outside_parents(self) -> Iterator[list[str]]:
        """The parents replied to that are not in the file, in batches."""
        rows = self._db.execute(
            "SELECT DISTINCT c.parent FROM comments c LEFT JOIN comments p ON p.source = c.parent"
            " WHERE c.parent IS NOT NULL AND p.source IS NULL"
        )
        while batch := rows.fetchmany(500):
            yield [parent for (parent,) in batch]

    def know(self, source_id: str, comment_id: str, thread: str) -> None:
        self._db.execute("INSERT INTO known VALUES (?, ?, ?)", (source_id, comment_id, thread))

    def check_parents(self) -> None:
        """Every reply's parent is in the file or known, and in its thread."""
        missing = self._db.execute(
            "SELECT c.place, c.parent FROM comments c LEFT JOIN comments p ON p.source = c.parent"
            " LEFT JOIN known k ON k.source = c.parent WHERE c.parent IS NOT NULL"
            " AND p.source IS NULL AND k.source IS NULL ORDER BY c.rowid LIMIT 1"
        ).fetchone()
        if missing:
            raise InvalidImport(
                f"{missing[0]}: it replies to {missing[1]}, which is not in the file"
            )
        elsewhere = self._db.execute(
            "SELECT c.place, c.parent FROM comments c JOIN threads t ON t.ref = c.thread_ref"
            " LEFT JOIN comments p ON p.source = c.parent LEFT JOIN threads pt"
            " ON pt.ref = p.thread_ref LEFT JOIN known k ON k.source = c.parent"
            " WHERE c.parent IS NOT NULL AND COALESCE(pt.thread, k.thread) != t.thread"
            " ORDER BY c.rowid LIMIT 1"
        ).fetchone()
        if elsewhere:
            raise InvalidImport(f"{elsewhere[0]}: it replies to {elsewhere[1]}, in another thread")

    def drop_removed(self) -> int:
        """Leave out spam and deleted comments; a reply to one is moved up to
        the nearest ancestor kept (or the top). The number dropped."""
        (removed,) = self._db.execute(
            "SELECT count(*) FROM comments WHERE state IN (?, ?)", REMOVED
        ).fetchone()
        for _ in range(removed + 1):
            moved = self._db.execute(
                "UPDATE comments SET parent = (SELECT p.parent FROM comments p"
                " WHERE p.source = comments.parent) WHERE parent IN"
                " (SELECT source FROM comments WHERE state IN (?, ?))",
                REMOVED,
            ).rowcount
            if not moved:
                break
        else:
            raise InvalidImport("the removed comments' replies form a cycle")
        self._db.execute("DELETE FROM comments WHERE state IN (?, ?)", REMOVED)
        return int(removed)

    def sources(self) -> Iterator[list[str]]:
        rows = self._db.execute("SELECT source FROM comments ORDER BY rowid")
        while batch := rows.fetchmany(500):
            yield [source for (source,) in batch]

    def already(self, source_id: str, comment_id: str) -> None:
        """Imported by an earlier run: it keeps its id there and is skipped."""
        self._db.execute(
            "UPDATE comments SET id = ?, done = 1 WHERE source = ?", (comment_id, source_id)
        )

    def link_parents(self) -> None:
        self._db.execute(
            "UPDATE comments SET parent_id = COALESCE("
            "(SELECT p.id FROM comments p WHERE p.source = comments.parent),"
            "(SELECT k.id FROM known k WHERE k.source = comments.parent))"
            " WHERE parent IS NOT NULL"
        )

    def counts(self) -> tuple[int, int]:
        """Comments left to store, and the threads they go to."""
        row = self._db.execute(
            "SELECT count(*), count(DISTINCT t.thread) FROM comments c JOIN threads t"
            " ON t.ref = c.thread_ref"
        ).fetchone()
        return int(row[0]), int(row[1])

    def pending(self, batch: int) -> Iterator[list[Staged]]:
        """What is left to store, oldest first, in batches."""
        rows = self._db.execute(
            "SELECT c.source, c.id, t.thread, c.parent_id, c.name, c.email, c.body,"
            " c.created_ms, c.state, c.visible, c.reasons FROM comments c JOIN threads t"
            " ON t.ref = c.thread_ref WHERE c.done = 0 ORDER BY c.created_ms, c.id"
        )
        while chunk := rows.fetchmany(batch):
            yield [_staged(row) for row in chunk]

    def begin(self) -> None:
        self._db.execute("BEGIN")

    def end(self) -> None:
        self._db.execute("COMMIT")


def _staged(row: tuple[Any, ...]) -> Staged:
    source_id, comment_id, thread, parent_id, name, email, body, created, state, visible, why = row
    return Staged(
        source_id,
        comment_id,
        thread,
        parent_id,
        name,
        email,
        body,
        created,
        state,
        bool(visible),
        why,
    )
