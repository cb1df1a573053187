"""What the mail stage keeps in Redis: the addresses that confirmed (as
hashes), the comments each address follows, and the queue of messages.
The address itself is read from the comment when a message is made, and
held in the queue only until the message is sent or given up."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from redis.asyncio import Redis

from service.mail.messages import Message
from service.store.connection import text, translate_errors
from service.store.keyschema import SiteKeys


class Subscriptions:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def keys(self, site_id: str) -> SiteKeys:
        return SiteKeys(self._prefix, site_id)

    @translate_errors
    async def confirm(self, site_id: str, email_hash: str) -> None:
        await self._redis.sadd(self.keys(site_id).mail_confirmed, email_hash)

    async def confirmed(self, site_id: str, email_hash: str) -> bool:
        return bool(await self._redis.sismember(self.keys(site_id).mail_confirmed, email_hash))

    async def follow(self, site_id: str, email_hash: str, comment_id: str) -> None:
        await self._redis.sadd(self.keys(site_id).mail_subscriptions(email_hash), comment_id)

    async def ask_once(self, site_id: str, email_hash: str, seconds: int) -> bool:
        """True if no confirmation was sent to the address within `seconds`."""
        asked = self.keys(site_id).mail_asked(email_hash)
        return bool(await self._redis.set(asked, "1", nx=True, ex=seconds))

    async def enqueue(self, site_id: str, message_id: str, message: Message) -> bool:
        """Queue a message once: a message id already queued is left alone."""
        keys = self.keys(site_id)
        if not await self._redis.hsetnx(
            keys.mail_queue, message_id, orjson.dumps(message.as_entry())
        ):
            return False
        await self._redis.zadd(keys.mail_due, {message_id: 0})
        return True

    @translate_errors
    async def forget(self, site_id: str, email_hashes: Iterable[str]) -> int:
        """An unsubscribe or an erasure: the addresses' confirmation, the
        comments they follow (the comments' notify flags), and their messages
        still queued. Returns how many subscriptions were removed."""
        keys = self.keys(site_id)
        hashes = set(email_hashes)
        if not hashes:
            return 0
        followed: dict[str, list[str]] = {}
        for email_hash in hashes:
            members = await self._redis.smembers(keys.mail_subscriptions(email_hash))
            followed[email_hash] = [text(m) for m in members]
        queued = []
        async for message_id, raw in self._redis.hscan_iter(keys.mail_queue):
            if orjson.loads(raw).get("email_hash") in hashes:
                queued.append(text(message_id))
        # One transaction: the keys share the site's hash tag.
        async with self._redis.pipeline(transaction=True) as pipe:
            for email_hash, comment_ids in followed.items():
                for comment_id in comment_ids:
                    pipe.hdel(keys.comment(comment_id), "notify")
                pipe.delete(keys.mail_subscriptions(email_hash), keys.mail_asked(email_hash))
            pipe.srem(keys.mail_confirmed, *hashes)
            if queued:
                pipe.hdel(keys.mail_queue, *queued)
                pipe.zrem(keys.mail_due, *queued)
                pipe.zrem(keys.mail_dead, *queued)
            await pipe.execute()
        return sum(len(ids) for ids in followed.values())
