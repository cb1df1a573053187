"""Reader reports: a published comment reported by a reader, rate limited per
address, site and thread, and flagged for moderators past the site's
threshold."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from service.errors import UnknownComment
from service.moderation.shared import Part
from service.settings import Site
from service.store.connection import text, translate_errors
from service.store.ratelimit import Usage, report_limits
from service.store.signatures import ReportArgs, ReportKeys


@dataclass(frozen=True, slots=True)
class Reported:
    flagged: bool
    usage: list[Usage]


class Reports(Part):
    @translate_errors
    async def report(
        self, site_id: str, site: Site, comment_id: str, ip_hash: str, reason: str
    ) -> Reported:
        keys = self.keys(site_id)
        [thread] = await self._fields(keys, [comment_id], "thread")
        limits = report_limits(keys, site, ip_hash, thread)
        thread = thread or "-"
        result = await self._scripts.report(
            ReportKeys(
                comment=keys.comment(comment_id),
                reporters=keys.reporters(comment_id),
                thread_ids=keys.thread(thread),
                thread_public=keys.thread_public(thread),
                history=keys.history(comment_id),
                pending_queue=keys.queue("pending"),
                approved_queue=keys.queue("approved"),
                reported_queue=keys.queue("reported"),
                outbox_due=keys.outbox_due,
                outbox=keys.outbox,
                limit_keys=limits,
            ),
            ReportArgs(
                reporter_hash=ip_hash,
                reason=reason,
                threshold=site.reports_threshold,
                hide=int(site.hide_reported),
                targets=site.webhook_targets("comment.reported"),
                site=site_id,
                comment_id=comment_id,
                delivery_id=secrets.token_hex(8),
                limit_args=limits,
            ),
        )
        usage = limits.settle(result)
        outcome = text(result[0])
        if outcome == "flagged":
            self._changed(site_id, [thread])  # hide_reported may have taken it down
        if outcome == "unknown":
            raise UnknownComment(f"no published comment {comment_id} on this site")
        return Reported(flagged=outcome == "flagged", usage=usage)
