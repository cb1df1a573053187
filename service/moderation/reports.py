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
from service.store.keyschema import SiteKeys
from service.store.ratelimit import (
    SITE,
    Limit,
    Usage,
    parse_usage,
    refusal,
    route_limits,
    script_args,
    script_keys,
)


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
            keys=[
                keys.comment(comment_id),
                keys.reporters(comment_id),
                keys.thread(thread),
                keys.thread_public(thread),
                keys.history(comment_id),
                keys.queue("pending"),
                keys.queue("approved"),
                keys.queue("reported"),
                keys.outbox_due,
                keys.outbox,
                *script_keys(limits),
            ],
            args=[
                ip_hash,
                reason,
                site.reports_threshold,
                "1" if site.hide_reported else "0",
                site.webhook_targets("comment.reported"),
                site_id,
                comment_id,
                secrets.token_hex(8),
                *script_args(limits),
            ],
        )
        outcome = text(result[0])
        usage = parse_usage(limits, result[3:])
        if outcome == "rate_limited":
            raise refusal(limits, result)
        if outcome == "unknown":
            raise UnknownComment(f"no published comment {comment_id} on this site")
        return Reported(flagged=outcome == "flagged", usage=usage)


def report_limits(keys: SiteKeys, site: Site, ip_hash: str, thread: str | None) -> list[Limit]:
    """The report route's limits: address and site, and the comment's thread
    once it is known."""
    subjects = {"ip": ip_hash, "site": SITE}
    if thread is not None:
        subjects["thread"] = thread
    return route_limits(keys, "report", site.rate_limits.report, subjects)
