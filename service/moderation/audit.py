"""The audit log: the append-only stream of moderation actions, read newest
first and filtered by moderator or comment."""

from __future__ import annotations

from typing import Any

from service import models
from service.clock import rfc3339
from service.moderation.shared import Part
from service.store.connection import text, translate_errors

# How far back the audit filter looks for matching entries in one request.
AUDIT_SCAN_LIMIT = 10_000


class AuditLog(Part):
    @translate_errors
    async def page(self, site_id: str, query: models.AuditQuery) -> models.AuditPage:
        stream = self.keys(site_id).audit
        entries: list[models.AuditEntry] = []
        if query.before == "0-0":
            return models.AuditPage(entries=[], next=None)  # nothing comes before the first id
        high = "(" + query.before if query.before else "+"
        scanned = 0
        exhausted = False
        while len(entries) < query.limit and scanned < AUDIT_SCAN_LIMIT:
            chunk = await self._redis.xrevrange(stream, high, "-", count=200)
            if not chunk:
                exhausted = True
                break
            for entry_id, fields in chunk:
                scanned += 1
                pairs: dict[Any, Any] = fields or {}
                entry = _audit_entry(text(entry_id), {text(k): text(v) for k, v in pairs.items()})
                high = "(" + entry.id
                if query.moderator and entry.key != query.moderator:
                    continue
                if query.comment and entry.comment != query.comment:
                    continue
                entries.append(entry)
                if len(entries) == query.limit:
                    break
            if len(chunk) < 200 and len(entries) < query.limit:
                exhausted = True
                break
        more = not exhausted and bool(entries)
        return models.AuditPage(entries=entries, next=high[1:] if more else None)


def _audit_entry(entry_id: str, fields: dict[str, str]) -> models.AuditEntry:
    return models.AuditEntry(
        id=entry_id,
        at=rfc3339(int(fields["at"])),
        key=fields.get("key", ""),
        moderator=fields.get("moderator", ""),
        action=fields.get("action", ""),
        comment=fields.get("comment") or None,
        reason=fields.get("reason", ""),
    )
