"""The overview: what the moderators decided over the last days, read from
the audit log (which holds every decision with its time, key and reason):
outcomes per day, time from submission to decision, each moderator's count
and the reasons given most."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

from service import models
from service.ids import comment_time_ms
from service.moderation.shared import Part
from service.store.connection import text, translate_errors

# Audit entries read for one overview: a bound on the work of one request.
OVERVIEW_SCAN_LIMIT = 50_000
_BATCH = 1000
DAY_MS = 86_400_000
# Audit actions that decide a comment, by the outcome they lead to.
OUTCOMES = {
    "approve": "approved",
    "approve-and-trust": "approved",
    "reject": "rejected",
    "spam": "spam",
}
TOP_REASONS = 10


class Overviews(Part):
    @translate_errors
    async def overview(self, site_id: str, days: int, now_ms: int) -> models.Overview:
        first_day = (now_ms // DAY_MS - days + 1) * DAY_MS
        per_day = {first_day + i * DAY_MS: Counter[str]() for i in range(days)}
        waits: list[float] = []
        moderators: Counter[tuple[str, str]] = Counter()
        reasons: Counter[str] = Counter()
        low, scanned = f"{first_day}-0", 0
        complete = True
        while True:
            chunk = await self._redis.xrange(self.keys(site_id).audit, low, "+", count=_BATCH) or []
            for entry_id, raw in chunk:
                fields: dict[Any, Any] = raw or {}
                entry = {text(k): text(v) for k, v in fields.items()}
                low = "(" + text(entry_id)
                outcome = OUTCOMES.get(entry.get("action", ""))
                if outcome is None:
                    continue
                at = int(entry["at"])
                day = per_day.get(at // DAY_MS * DAY_MS)
                if day is None:
                    continue  # stamped past "now" by a clock ahead of ours
                day[outcome] += 1
                moderators[(entry.get("key", ""), entry.get("moderator", ""))] += 1
                if entry.get("reason"):
                    reasons[entry["reason"]] += 1
                made = comment_time_ms(entry.get("comment", ""))
                if made is not None and made <= at:
                    waits.append((at - made) / 1000)
            scanned += len(chunk)
            if len(chunk) < _BATCH:
                break
            if scanned >= OVERVIEW_SCAN_LIMIT:
                complete = False
                break
        return models.Overview(
            days=[
                models.DayOutcomes(
                    date=time.strftime("%Y-%m-%d", time.gmtime(day // 1000)),
                    approved=counts["approved"],
                    rejected=counts["rejected"],
                    spam=counts["spam"],
                )
                for day, counts in per_day.items()
            ],
            decision_times=_times(waits),
            moderators=[
                models.ModeratorThroughput(key=key, moderator=name, decisions=n)
                for (key, name), n in moderators.most_common()
            ],
            reasons=[
                models.ReasonCount(reason=reason, count=n)
                for reason, n in reasons.most_common(TOP_REASONS)
            ],
            complete=complete,
        )


def _times(waits: list[float]) -> models.DecisionTimes:
    if not waits:
        return models.DecisionTimes(decisions=0, median_seconds=None, p90_seconds=None)
    waits.sort()
    p90 = waits[min(len(waits) - 1, int(0.9 * len(waits)))]
    return models.DecisionTimes(
        decisions=len(waits),
        median_seconds=round(statistics.median(waits), 1),
        p90_seconds=round(p90, 1),
    )
