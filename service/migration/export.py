"""A site's comments as JSON lines (models.ExportedComment), and everything
the site holds of one email address (the subject-access export, the other
half of an erasure: the address is found the way erasure finds it, by its
keyed hash and the author's set of comments)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from redis.asyncio import Redis

from service import models
from service.keyring import Keyring
from service.moderation.bans import Bans
from service.moderation.shared import Part
from service.store.connection import text, translate_errors
from service.store.scripts import Scripts

# Every comment is in exactly one of these queues (the accept, decide and
# report scripts move it between them), so reading them reads every comment.
STATES: tuple[models.State, ...] = ("approved", "reported", "pending", "spam", "rejected")
PAGE = 500


def exported(item: models.QueueItem) -> models.ExportedComment:
    return models.ExportedComment(
        id=item.id,
        thread=item.thread,
        parent_id=item.parent_id,
        author=item.author,
        body=item.body,
        created_at=item.created_at,
        status=item.status,
        published=item.published,
        reasons=item.reasons,
        reports=item.reports,
    )


class Export(Part):
    def __init__(
        self, redis: Redis, scripts: Scripts, keyring: Keyring, prefix: str, bans: Bans
    ) -> None:
        super().__init__(redis, scripts, prefix)
        self._keyring = keyring
        self._bans = bans

    async def site(self, site_id: str) -> AsyncIterator[bytes]:
        """Each comment of the site as one JSON line, a state at a time,
        oldest first within it; a page of ids at a time, whatever the site's size."""
        for state in STATES:
            after = "-"
            while True:
                ids, items = await self._page(site_id, state, after)
                if not ids:
                    break
                for item in items:
                    yield orjson.dumps(exported(item).model_dump()) + b"\n"
                after = "(" + ids[-1]

    @translate_errors
    async def _page(
        self, site_id: str, state: models.State, after: str
    ) -> tuple[list[str], list[models.QueueItem]]:
        """A page of a state's ids after the cursor, and their comments."""
        keys = self.keys(site_id)
        found = await self._redis.zrange(
            keys.queue(state), after, "+", bylex=True, offset=0, num=PAGE
        )
        ids = [text(i) for i in found]
        return ids, await self._items(keys, ids)

    @translate_errors
    async def subject(self, site_id: str, email: str) -> models.SubjectAccess:
        keys = self.keys(site_id)
        email_hash = self._keyring.email_hash(site_id, email)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.smembers(keys.author(email_hash))
            pipe.sismember(keys.trusted, email_hash)
            pipe.sismember(keys.trusted_always, email_hash)
            pipe.hget(keys.strikes, email_hash)
            members, trusted, always, strikes = await pipe.execute()
        ids = sorted(text(m) for m in members)
        comments = [exported(item) for item in await self._items(keys, ids)]
        bans = [
            ban
            for ban in (await self._bans.in_force(site_id)).bans
            if ban.email and self._keyring.email_hash(site_id, ban.email) == email_hash
        ]
        return models.SubjectAccess(
            email=email,
            comments=comments,
            bans=bans,
            trusted=bool(trusted),
            trusted_always=bool(always),
            strikes=int(strikes or 0),
        )
