"""The moderation queues: one state's comments, paged, and exclusive claims
on them (leases)."""

from __future__ import annotations

from service import models
from service.clock import rfc3339
from service.models import STATES
from service.moderation.shared import Actor, Part
from service.store.connection import text, translate_errors
from service.store.signatures import ClaimArgs, ClaimKeys


class Queue(Part):
    @translate_errors
    async def page(self, site_id: str, query: models.QueueQuery) -> models.QueuePage:
        keys = self.keys(site_id)
        queue = keys.queue(query.state)
        if query.order == "oldest":
            low = "(" + query.after if query.after else "-"
            ids = await self._redis.zrange(
                queue, low, "+", bylex=True, offset=0, num=query.limit + 1
            )
        else:
            high = "(" + query.after if query.after else "+"
            ids = await self._redis.zrange(
                queue, high, "-", bylex=True, desc=True, offset=0, num=query.limit + 1
            )
        more = len(ids) > query.limit
        items = await self._items(keys, [text(i) for i in ids[: query.limit]])
        async with self._redis.pipeline(transaction=False) as pipe:
            for state in STATES:
                pipe.zcard(keys.queue(state))
            counts = await pipe.execute()
        return models.QueuePage(
            items=items,
            next=items[-1].id if more and items else None,
            counts=dict(zip(STATES, (int(c) for c in counts), strict=True)),
        )

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
