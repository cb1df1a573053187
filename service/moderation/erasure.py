"""Erasure: every comment of an email address removed, with every trace of
the address (its bans, rate limits, trust, webhook deliveries waiting)."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from service.keyring import Keyring
from service.moderation.shared import Actor, Part
from service.store.connection import text, translate_errors
from service.store.keyschema import SiteKeys
from service.store.ratelimit import ADDRESS_POLICIES, SUBMIT_EMAIL
from service.store.scripts import Scripts
from service.store.signatures import EraseArgs, EraseKeys

# Erasure retries if the author posts while their comments are being erased.
ERASE_ATTEMPTS = 5


class Erasure(Part):
    def __init__(self, redis: Redis, scripts: Scripts, keyring: Keyring, prefix: str) -> None:
        super().__init__(redis, scripts, prefix)
        self._keyring = keyring

    @translate_errors
    async def erase(self, site_id: str, actor: Actor, email: str) -> int:
        """Remove every comment of an email and every trace of the email."""
        keys = self.keys(site_id)
        email_hash = self._keyring.email_hash(site_id, email)
        for _ in range(ERASE_ATTEMPTS):
            ids = sorted(text(m) for m in await self._redis.smembers(keys.author(email_hash)))
            threads = await self._fields(keys, ids, "thread")
            addresses = sorted({a for a in await self._fields(keys, ids, "ip_hash") if a})
            deliveries = await self._deliveries_of(keys, set(ids))
            ban_ids = await self._bans_of(keys, email_hash)
            comment_keys: list[str] = []
            for comment_id, thread in zip(ids, threads, strict=True):
                comment_keys += [
                    keys.comment(comment_id),
                    keys.thread(thread or "-"),
                    keys.thread_public(thread or "-"),
                    keys.history(comment_id),
                    keys.reporters(comment_id),
                ]
            comment_keys += [
                keys.rate(policy, address) for address in addresses for policy in ADDRESS_POLICIES
            ]
            comment_keys += [keys.captcha_failures(address) for address in addresses]
            result = await self._scripts.erase(
                EraseKeys(
                    author_comments=keys.author(email_hash),
                    trusted=keys.trusted,
                    trusted_always=keys.trusted_always,
                    pending_queue=keys.queue("pending"),
                    reported_queue=keys.queue("reported"),
                    approved_queue=keys.queue("approved"),
                    rejected_queue=keys.queue("rejected"),
                    spam_queue=keys.queue("spam"),
                    lease_expiries=keys.leases,
                    lease_owners=keys.lease_owner,
                    outbox=keys.outbox,
                    outbox_due=keys.outbox_due,
                    outbox_dead=keys.outbox_dead,
                    audit=keys.audit,
                    email_ban=keys.ban("e", email_hash),
                    ban_records=keys.bans,
                    email_limit=keys.rate(SUBMIT_EMAIL, email_hash),
                    strikes=keys.strikes,
                    model_labels=keys.model_labels,
                    comment_keys=tuple(comment_keys),
                ),
                EraseArgs(
                    email_hash=email_hash,
                    key_id=actor.key_id,
                    moderator=actor.name,
                    comments=len(ids),
                    deliveries=len(deliveries),
                    bans=len(ban_ids),
                    ids=(*ids, *deliveries, *ban_ids),
                ),
            )
            if text(result[0]) == "erased":
                return int(result[1])
        raise RuntimeError("the author kept posting while their comments were being erased")

    async def _deliveries_of(self, keys: SiteKeys, ids: set[str]) -> list[str]:
        """Webhook deliveries still waiting that carry one of these comments."""
        found = []
        async for delivery_id, raw in self._redis.hscan_iter(keys.outbox):
            entry = orjson.loads(raw)
            comment = orjson.loads(entry["body"]).get("comment", {})
            if comment.get("id") in ids:
                found.append(text(delivery_id))
        return found

    async def _bans_of(self, keys: SiteKeys, email_hash: str) -> list[str]:
        found = []
        async for ban_id, raw in self._redis.hscan_iter(keys.bans):
            if orjson.loads(raw).get("subject") == email_hash:
                found.append(text(ban_id))
        return found
