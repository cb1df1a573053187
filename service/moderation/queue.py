"""The moderation queues: one state's comments, paged, and exclusive claims
on them (leases)."""

from __future__ import annotations

from service import models
from service.clock import rfc3339
from service.models import STATES
from service.moderation.shared import Actor, Part
from service.store.connection import text, translate_errors
from service.store.keyschema import SiteKeys
from service.store.signatures import ClaimArgs, ClaimKeys

# How many of a queue's oldest items a sort by the model considers.
SORT_WINDOW = 1000


class Queue(Part):
    @translate_errors
    async def page(self, site_id: str, query: models.QueueQuery) -> models.QueuePage:
        keys = self.keys(site_id)
        queue = keys.queue(query.state)
        ids: list[bytes]
        if query.order in ("abusive", "clean"):
            ids = await self._by_model(keys, queue, query)
        elif query.order == "oldest":
            low = "(" + query.after if query.after else "-"
            ids = await self._redis.zrange(  # type: ignore[assignment]
                queue, low, "+", bylex=True, offset=0, num=query.limit + 1
            )
        else:
            high = "(" + query.after if query.after else "+"
            ids = await self._redis.zrange(  # type: ignore[assignment]
                queue, high, "-", bylex=True, desc=True, offset=0, num=query.limit + 1
            )
        more = len(ids) > query.limit
        items = await self._items(keys, [text(i) for i in ids[: query.limit]])
        return models.QueuePage(
            items=items,
            next=items[-1].id if more and items else None,
            counts=await self._counts(keys),
        )

    @translate_errors
    async def counts(self, site_id: str) -> dict[str, int]:
        """How many comments each moderation state holds."""
        return await self._counts(self.keys(site_id))

    async def _counts(self, keys: SiteKeys) -> dict[str, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for state in STATES:
                pipe.zcard(keys.queue(state))
            counts = await pipe.execute()
        return dict(zip(STATES, (int(c) for c in counts), strict=True))

    async def _by_model(self, keys: SiteKeys, queue: str, query: models.QueueQuery) -> list[bytes]:
        """A page of the queue sorted by the learned model's probability, most
        likely abusive first or most likely clean first, ties oldest first;
        the cursor is the last id served. Only the oldest SORT_WINDOW items
        are sorted, so a page costs the same however long the queue grows."""
        window: list[bytes] = await self._redis.zrange(  # type: ignore[assignment]
            queue, "-", "+", bylex=True, offset=0, num=SORT_WINDOW
        )
        probabilities = await self._fields(keys, [text(i) for i in window], "model")
        abusive_first = query.order == "abusive"

        def rank(pair: tuple[bytes, str | None]) -> tuple[float, bytes]:
            # Items the model never scored sort after the scored ones.
            p = float(pair[1]) if pair[1] else (-1.0 if abusive_first else 2.0)
            return (-p if abusive_first else p, pair[0])

        ordered = [i for i, _ in sorted(zip(window, probabilities, strict=True), key=rank)]
        start = 0
        if query.after is not None:
            after = query.after.encode()
            start = ordered.index(after) + 1 if after in ordered else len(ordered)
        return ordered[start : start + query.limit + 1]

    @translate_errors
    async def claim(
        self, site_id: str, actor: Actor, request: models.ClaimRequest
    ) -> models.Claimed:
        keys = self.keys(site_id)
        result = await self._scripts.claim(
            ClaimKeys(keys.queue(request.state), keys.leases, keys.lease_owner, keys.audit),
            ClaimArgs(actor.key_id, request.limit, request.lease_seconds * 1000, actor.name),
        )
        until = int(result[0])
        items = await self._items(keys, [text(i) for i in result[1:]])
        return models.Claimed(lease_until=rfc3339(until), items=items)
