"""Reading a large XML export in constant memory, safely.

lxml's iterparse hands over each record element when it ends; the caller
reads it, and it is then cleared and unlinked with the siblings before it,
so that the tree never holds more than one record. Entities are never
resolved (no billion laughs), no DTD is loaded and nothing is fetched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from lxml import etree

from service.errors import InvalidImport
from service.migration.records import Progress


class _Counted:
    """The file as iterparse reads it, telling the progress each chunk."""

    def __init__(self, raw: IO[bytes], progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._progress.advance(len(chunk))
        return chunk


def records(
    path: Path, root: str, names: frozenset[str], depth: int, progress: Progress
) -> Iterator[etree._Element]:
    """Each element at `depth` (the root, whose local name must be `root`,
    is 0) whose local name is in `names`, whole, in document order."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InvalidImport(f"cannot open {path.name}: {exc.strerror}") from None
    with raw:
        progress.start("reading", os.fstat(raw.fileno()).st_size, "bytes")
        events = etree.iterparse(
            _Counted(raw, progress),
            events=("start", "end"),
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            remove_comments=True,
            remove_pis=True,
            huge_tree=False,
        )
        level = -1
        try:
            for event, element in events:
                if event == "start":
                    level += 1
                    if level == 0 and etree.QName(element).localname != root:
                        raise InvalidImport(
                            f"{path.name} line {element.sourceline}: the document is "
                            f"<{etree.QName(element).localname}>, not <{root}>: "
                            "is this the right format?"
                        )
                    continue
                if level == depth:
                    if etree.QName(element).localname in names:
                        yield element
                    element.clear(keep_tail=False)
                    parent = element.getparent()
                    if parent is not None:
                        while element.getprevious() is not None:
                            del parent[0]
                level -= 1
        except etree.XMLSyntaxError as exc:
            line = exc.position[0] if exc.position else "?"
            raise InvalidImport(
                f"{path.name} line {line}: not well-formed XML: {exc.msg}"
            ) from None


def text_of(element: etree._Element, *path: str) -> str | None:
    """The text of the child at the path of local names (any namespace),
    '' for an empty one, None for a missing one. An unresolved entity leaves
    no text, so it cannot smuggle its expansion in."""
    found: etree._Element | None = element
    for name in path:
        assert found is not None
        found = found.find(f"{{*}}{name}")
        if found is None:
            return None
    assert found is not None
    return found.text or ""


def place(element: etree._Element, what: str) -> str:
    return f"{what} (line {element.sourceline})"


def timestamp_ms(value: str | None, where: str, field: str) -> int:
    """An ISO 8601 date and time as epoch milliseconds; without a zone it is UTC."""
    try:
        if not value:
            raise ValueError("missing")
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidImport(f"{where}: {field} {value!r} is not a date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
