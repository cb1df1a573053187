"""One comment, whole, with its history: its submission, then each
moderation action and report on it, oldest first."""

from __future__ import annotations

from typing import Any

import orjson

from service import models
from service.clock import rfc3339
from service.errors import UnknownComment
from service.moderation.shared import Part
from service.store.connection import translate_errors


class History(Part):
    @translate_errors
    async def comment(self, site_id: str, comment_id: str) -> models.CommentDetail:
        keys = self.keys(site_id)
        found = await self._items(keys, [comment_id])
        if not found:
            raise UnknownComment(f"no comment {comment_id} on this site")
        item = found[0]
        raw = await self._redis.lrange(keys.history(comment_id), 0, -1)
        history = [_history_event(orjson.loads(entry)) for entry in raw]
        submitted = models.HistoryEvent(
            at=item.created_at, key="", moderator="", action="submitted", reason=""
        )
        return models.CommentDetail(**item.model_dump(), history=[submitted, *history])


def _history_event(entry: dict[str, Any]) -> models.HistoryEvent:
    return models.HistoryEvent(
        at=rfc3339(int(entry["at"])),
        key=str(entry.get("key", "")),
        moderator=str(entry.get("moderator", "")),
        action=str(entry["action"]),
        reason=str(entry.get("reason", "")),
    )
