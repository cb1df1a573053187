"""Which loibinh thread a source's thread becomes (docs/migration.md, "Threads").

The rule, first match wins:

1. the mapping file's entry for the thread's identifier, then for its link;
2. the source's own identifier (Disqus's `<id>`, WordPress's post slug, a
   loibinh export's thread), when it is a valid thread id as it stands;
3. the last segment of the link's path, without a `.html`-like extension,
   accents dropped and any other character outside `A-Za-z0-9._:-` made `-`.

A thread none of these name is an error naming it: map it in the file.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from service.errors import InvalidImport
from service.models import THREAD_PATTERN

_THREAD = re.compile(THREAD_PATTERN)
_EXTENSION = re.compile(r"\.(?:s?html?|php|aspx?|jsp)$", re.IGNORECASE)
_OUTSIDE = re.compile(r"[^A-Za-z0-9._:-]+")
# Letters NFKD leaves whole: Vietnamese đ above all.
_LATIN = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss"})


class ThreadMap:
    def __init__(self, entries: dict[str, str] | None = None) -> None:
        self._entries = entries or {}

    @classmethod
    def from_file(cls, path: Path) -> ThreadMap:
        """A CSV file of `source,thread` rows: the source's link or identifier
        (as the export spells it), then the loibinh thread id. Lines that
        start with `#` and blank lines are skipped."""
        entries: dict[str, str] = {}
        try:
            with path.open(encoding="utf-8", newline="") as lines:
                for number, row in enumerate(csv.reader(lines), 1):
                    if not row or not "".join(row).strip() or row[0].startswith("#"):
                        continue
                    where = f"{path.name} line {number}"
                    if len(row) != 2:
                        raise InvalidImport(
                            f"{where}: expected `source,thread`, got {len(row)} fields"
                        )
                    source, thread = row[0].strip(), row[1].strip()
                    if not _THREAD.match(thread):
                        raise InvalidImport(f"{where}: {thread!r} is not a valid thread id")
                    entries[source] = thread
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InvalidImport(f"cannot read the mapping file {path.name}: {exc}") from None
        return cls(entries)

    def resolve(self, identifier: str | None, link: str | None, place: str) -> str:
        for key in (identifier, link):
            if key and key.strip() in self._entries:
                return self._entries[key.strip()]
        if identifier and _THREAD.match(identifier.strip()):
            return identifier.strip()
        derived = thread_from_link(link or "")
        if derived:
            return derived
        raise InvalidImport(
            f"{place}: no thread id can be made of its identifier {identifier!r} or link "
            f"{link!r}; give it one in a mapping file (--threads)"
        )


def thread_from_link(link: str) -> str | None:
    """The last segment of the link's path as a thread id, or None."""
    try:
        path = urlsplit(link.strip()).path
    except ValueError:
        return None
    segments = [s for s in unquote(path).split("/") if s]
    if not segments:
        return None
    slug = _EXTENSION.sub("", segments[-1]).translate(_LATIN)
    slug = "".join(c for c in unicodedata.normalize("NFKD", slug) if not unicodedata.combining(c))
    slug = _OUTSIDE.sub("-", slug).lstrip("._:-")[:200]
    return slug if _THREAD.match(slug) else None
