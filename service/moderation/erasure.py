"""Erasure: every comment of an email address (or of a signed-in reader's
user id) removed, with every trace of the address or id (its bans, rate
limits, trust, webhook deliveries waiting, reply-email subscriptions), from
Redis's memory and then from its files on disk (DiskPurge)."""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from service.keyring import Keyring
from service.mail.subscriptions import Subscriptions
from service.moderation.shared import Actor, Part
from service.settings import RedisSettings
from service.store.connection import UNREACHABLE, text, translate_errors
from service.store.keyschema import SiteKeys
from service.store.nodes import Node, every_node
from service.store.ratelimit import ADDRESS_POLICIES, SUBMIT_EMAIL
from service.store.readcache import ReadCache
from service.store.scripts import Scripts
from service.store.signatures import EraseArgs, EraseKeys

log = logging.getLogger(__name__)

# Erasure retries if the author posts while their comments are being erased.
ERASE_ATTEMPTS = 5
# How long an erasure waits for Redis to rewrite its files; a rewrite still
# running then goes on in Redis, and the erasure answers anyway (logged).
DISK_PURGE_SECONDS = 60.0
_POLL_SECONDS = 0.05


class DiskPurge:
    """Rewrites Redis's files so that erased data leaves the disk too.

    Deleting a key removes it from memory, but the append-only file still
    holds the commands that wrote it, and an RDB snapshot the values, until
    Redis rewrites them from memory. So after an erasure, on every data node
    the service can find (each master and replica of a cluster; the master
    and its replicas otherwise): BGREWRITEAOF if the append-only file is on,
    BGSAVE if snapshots are configured, and wait for both; a replica first
    catches up with its master, so that its files are rewritten without the
    erased data. A node that cannot be reached is logged, and the erasure
    still answers. Erasures in a burst share rewrites: one that finished
    before a rewrite started is covered by it, so callers queue behind the
    running rewrite and at most one more starts for all of them."""

    def __init__(self, redis: Redis, settings: RedisSettings) -> None:
        self._redis = redis
        self._settings = settings
        self._lock = asyncio.Lock()
        self._erased = 0  # erasures done in memory, counted
        self._purged = 0  # of those, the ones a finished rewrite covers

    async def purge(self) -> None:
        """After an erasure in memory: wait until it is off the disk too."""
        self._erased += 1
        mine = self._erased
        try:
            async with asyncio.timeout(DISK_PURGE_SECONDS), self._lock:
                if self._purged >= mine:
                    return  # a rewrite that started after this erasure covered it
                covered = self._erased
                async with every_node(self._redis, self._settings) as nodes:
                    masters = [node for node in nodes if not node.replica]
                    await asyncio.gather(*(self._node(node, masters) for node in nodes))
                self._purged = covered
        except TimeoutError:
            log.warning(
                "Redis has not finished rewriting its files after %s s; the erased data "
                "leaves the disk when it does",
                DISK_PURGE_SECONDS,
            )

    async def _node(self, node: Node, masters: list[Node]) -> None:
        try:
            if node.replica and not await self._caught_up(node, masters):
                return
            await _rewrite(node.client)
        except UNREACHABLE as exc:
            if not node.optional:
                raise
            log.warning(
                "cannot rewrite the files of Redis node %s (%s): the erased data stays on "
                "its disk until it is rewritten",
                node.name,
                exc,
            )

    async def _caught_up(self, replica: Node, masters: list[Node]) -> bool:
        """Wait until the replica has had the erasure from its master (its
        offset reaches the master's now); False, logged, if it is cut off."""
        info = await replica.client.info("replication")
        address = f"{text(info.get('master_host', ''))}:{info.get('master_port', '')}"
        master = next((m for m in masters if m.name == address), None)
        if master is None and len(masters) == 1:
            master = masters[0]  # the service's own master, reached by its own client
        if master is None:
            log.warning("replica %s follows %s, which is not a known master", replica.name, address)
            return False
        target = int((await master.client.info("replication"))["master_repl_offset"])
        while True:
            if info.get("master_link_status") != "up":
                log.warning(
                    "replica %s is cut off from its master: the erased data stays on its "
                    "disk until it syncs again",
                    replica.name,
                )
                return False
            if int(info.get("slave_repl_offset", 0)) >= target:
                return True
            await asyncio.sleep(_POLL_SECONDS)
            info = await replica.client.info("replication")


async def _rewrite(redis: Redis) -> None:
    info = await redis.info("persistence")
    aof = bool(int(info.get("aof_enabled", 0)))
    try:
        save = await redis.config_get("save")
        rdb = bool(str(save.get("save", "")).strip())
    except ResponseError:  # CONFIG renamed or refused (managed Redis)
        rdb = False
        log.warning("cannot tell whether Redis writes RDB snapshots (CONFIG GET refused)")
    if aof:
        await _background(
            redis,
            "BGREWRITEAOF",
            "aof_rewrite_in_progress",
            "aof_rewrites",
            "aof_last_bgrewrite_status",
        )
    if rdb:
        await _background(
            redis, "BGSAVE", "rdb_bgsave_in_progress", "rdb_saves", "rdb_last_bgsave_status"
        )


async def _background(redis: Redis, command: str, running: str, done: str, outcome: str) -> None:
    """Start `command` once nothing else is rewriting (a rewrite already
    running may have started before the erasure), and wait for it."""
    while True:
        info = await redis.info("persistence")
        busy = int(info.get("aof_rewrite_in_progress", 0)) or int(
            info.get("rdb_bgsave_in_progress", 0)
        )
        if not busy and not int(info.get("aof_rewrite_scheduled", 0)):
            break
        await asyncio.sleep(_POLL_SECONDS)
    before = int(info.get(done, 0))
    started = time.time()
    await (redis.bgrewriteaof() if command == "BGREWRITEAOF" else redis.bgsave())
    while True:
        await asyncio.sleep(_POLL_SECONDS)
        info = await redis.info("persistence")
        if int(info.get(running, 0)) or int(info.get("aof_rewrite_scheduled", 0)):
            continue
        # Redis 7 counts rewrites and saves; older ones only time the last save.
        finished = (
            int(info[done]) > before
            if done in info
            else int(info.get("rdb_last_save_time", 0)) >= int(started)
        )
        if finished:
            break
    status = str(info.get(outcome, "ok"))
    if status != "ok":
        log.error("Redis's %s failed (%s): erased data may remain on disk", command, status)


class Erasure(Part):
    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        keyring: Keyring,
        prefix: str,
        disk: DiskPurge,
        subscriptions: Subscriptions,
        read_cache: ReadCache | None = None,
    ) -> None:
        super().__init__(redis, scripts, prefix, read_cache)
        self._keyring = keyring
        self._disk = disk
        self._subscriptions = subscriptions

    async def erase(self, site_id: str, actor: Actor, email: str) -> int:
        """Remove every comment of an email and every trace of the email."""
        return await self._erase(site_id, actor, self._keyring.email_hash(site_id, email), "e")

    async def erase_user(self, site_id: str, actor: Actor, user_id: str) -> int:
        """Remove every comment a reader posted signed in with the site's login,
        and every trace of their user id."""
        return await self._erase(site_id, actor, self._keyring.user_hash(site_id, user_id), "u")

    @translate_errors
    async def _erase(self, site_id: str, actor: Actor, email_hash: str, ban_kind: str) -> int:
        """`email_hash`: the author's, of an email or (ban_kind u) of a user id."""
        keys = self.keys(site_id)
        for _ in range(ERASE_ATTEMPTS):
            ids = sorted(text(m) for m in await self._redis.smembers(keys.author(email_hash)))
            await self._forget_mail(site_id, keys, ids, email_hash if ban_kind == "e" else None)
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
                    email_ban=keys.ban(ban_kind, email_hash),
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
                self._changed(site_id, (thread or "-" for thread in threads))
                await self._disk.purge()
                return int(result[1])
        raise RuntimeError("the author kept posting while their comments were being erased")

    async def _forget_mail(
        self, site_id: str, keys: SiteKeys, ids: list[str], email_hash: str | None
    ) -> None:
        """Reply notifications: the subscriptions, confirmation and queued
        messages of the address, and of every address the comments were
        posted with (a signed-in reader's token may have carried several)."""
        hashes = {email_hash} if email_hash else set()
        for email in await self._fields(keys, ids, "email"):
            if email:
                hashes.add(self._keyring.email_hash(site_id, email))
        await self._subscriptions.forget(site_id, hashes)

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
