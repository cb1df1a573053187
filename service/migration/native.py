"""loibinh's own export (JSON lines of models.ExportedComment), read back:
ids, threads, replies, states and dates are kept as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from service.errors import InvalidImport
from service.migration.records import Item, Progress, SourceComment, SourceThread
from service.migration.threads import ThreadMap
from service.migration.xmlsource import timestamp_ms
from service.models import ExportedComment


def read(path: Path, threads: ThreadMap, progress: Progress) -> Iterator[Item]:
    try:
        lines = path.open("rb")
    except OSError as exc:
        raise InvalidImport(f"cannot open {path.name}: {exc.strerror}") from None
    with lines:
        progress.start("reading", path.stat().st_size, "bytes")
        for number, line in enumerate(lines, 1):
            progress.advance(len(line))
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                record = ExportedComment.model_validate_json(line)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                field = ".".join(str(part) for part in first["loc"]) or "(line)"
                raise InvalidImport(f"{where}: {field}: {first['msg']}") from None
            yield SourceThread(record.thread, threads.resolve(record.thread, None, where), where)
            yield SourceComment(
                source_id=record.id,
                thread_ref=record.thread,
                parent=record.parent_id,
                name=record.author.name,
                email=record.author.email,
                body=record.body,
                created_ms=timestamp_ms(record.created_at, where, "created_at"),
                state=record.status,
                place=where,
                own_id=record.id,
                published=record.published,
                reasons=",".join(record.reasons),
            )
