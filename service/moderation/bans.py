"""Bans: of an author by email or by the site login's user id, or of the
address a comment came from, for a while or for good; and the list of
those in force."""

from __future__ import annotations

import secrets
from typing import Literal

import orjson
from redis.asyncio import Redis

from service import models
from service.clock import now_ms, rfc3339
from service.errors import UnknownBan, UnknownComment
from service.keyring import Keyring
from service.moderation.shared import Actor, Part
from service.store.connection import translate_errors
from service.store.scripts import Scripts
from service.store.signatures import BanArgs, BanKeys, UnbanArgs, UnbanKeys


class Bans(Part):
    def __init__(self, redis: Redis, scripts: Scripts, keyring: Keyring, prefix: str) -> None:
        super().__init__(redis, scripts, prefix)
        self._keyring = keyring

    @translate_errors
    async def ban(self, site_id: str, actor: Actor, request: models.BanRequest) -> models.Ban:
        keys = self.keys(site_id)
        kind: Literal["email", "user", "ip"]
        if request.email is not None:
            kind, subject = "email", self._keyring.email_hash(site_id, request.email)
        elif request.user_id is not None:
            # The accept script checks a signed-in reader's ban under their user id's hash.
            kind, subject = "user", self._keyring.user_hash(site_id, request.user_id)
        else:
            assert request.comment_id is not None
            [ip_hash] = await self._fields(keys, [request.comment_id], "ip_hash")
            if ip_hash is None:
                raise UnknownComment(f"no comment {request.comment_id} on this site")
            kind, subject = "ip", ip_hash
        now = now_ms()
        duration_ms = (request.duration_seconds or 0) * 1000
        ban = models.Ban(
            id=secrets.token_hex(8),
            kind=kind,
            email=request.email,
            user_id=request.user_id,
            comment_id=request.comment_id,
            until=rfc3339(now + duration_ms) if duration_ms else None,
            reason=request.reason,
            created_at=rfc3339(now),
            key=actor.key_id,
        )
        record = ban.model_dump() | {
            "subject": subject,
            "until_ms": now + duration_ms if duration_ms else 0,
        }
        await self._scripts.ban(
            BanKeys(
                ban=keys.ban(kind[0], subject),
                ban_records=keys.bans,
                audit=keys.audit,
                history=keys.history(request.comment_id or "-"),
            ),
            BanArgs(
                ban_id=ban.id,
                record=orjson.dumps(record),
                ttl_ms=duration_ms,
                key_id=actor.key_id,
                moderator=actor.name,
                reason=request.reason,
                comment_id=request.comment_id or "",
            ),
        )
        return ban

    @translate_errors
    async def in_force(self, site_id: str) -> models.BanList:
        raw = await self._redis.hgetall(self.keys(site_id).bans)
        now = now_ms()
        bans = []
        for value in raw.values():
            record = orjson.loads(value)
            if record["until_ms"] and record["until_ms"] <= now:
                continue  # expired: the accept script no longer sees it either
            # A ban recorded before user-id bans existed has no user_id: its default.
            fields = {k: record[k] for k in models.Ban.model_fields if k in record}
            bans.append(models.Ban(**fields))
        return models.BanList(bans=sorted(bans, key=lambda b: b.created_at))

    @translate_errors
    async def lift(self, site_id: str, actor: Actor, ban_id: str, reason: str) -> None:
        """Lift a ban before its time (or a ban for ever)."""
        keys = self.keys(site_id)
        raw = await self._redis.hget(keys.bans, ban_id)
        if raw is None:
            raise UnknownBan(f"no ban {ban_id!r} on this site")
        record = orjson.loads(raw)
        lifted = await self._scripts.unban(
            UnbanKeys(
                ban=keys.ban(record["kind"][0], record["subject"]),
                ban_records=keys.bans,
                audit=keys.audit,
            ),
            UnbanArgs(ban_id=ban_id, key_id=actor.key_id, moderator=actor.name, reason=reason),
        )
        if not lifted:
            raise UnknownBan(f"no ban {ban_id!r} on this site")
