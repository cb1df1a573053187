"""Moderator and admin API keys: created and revoked from the command line,
stored only as keyed hashes, checked on every moderation request.

A key reads `lbk_<12 hex id>_<secret>`. The id finds the stored record in one
lookup; the secret is compared as an HMAC in constant time, so a stolen copy
of Redis yields no usable key.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal, get_args

from redis.asyncio import Redis

from service.keyring import Keyring
from service.store.connection import text, translate_errors
from service.store.keyschema import GlobalKeys

Role = Literal["moderator", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_RANK: dict[str, int] = {"moderator": 1, "admin": 2}
ALL_SITES = "*"
# Writing last_used_at on every request would double the writes of a busy
# moderator for a figure that only needs to be roughly right.
LAST_USED_PRECISION_MS = 60_000


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    role: str
    sites: tuple[str, ...]
    created_at_ms: int
    last_used_at_ms: int | None

    def covers(self, site: str) -> bool:
        return ALL_SITES in self.sites or site in self.sites

    def at_least(self, role: Role) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


class ApiKeyStore:
    def __init__(self, redis: Redis, keyring: Keyring, prefix: str) -> None:
        self._redis = redis
        self._keyring = keyring
        self._keys = GlobalKeys(prefix)

    @translate_errors
    async def create(self, name: str, role: Role, sites: list[str]) -> tuple[str, ApiKey]:
        """A new key: the token is returned once and never stored."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        now = int(time.time() * 1000)
        record = ApiKey(key_id, name, role, tuple(sites), now, None)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._keys.api_key(key_id),
                mapping={
                    "name": name,
                    "role": role,
                    "sites": ",".join(sites),
                    "created_at": now,
                    "hash": self._keyring.api_key_hash(key_id, secret),
                },
            )
            pipe.sadd(self._keys.api_keys, key_id)
            await pipe.execute()
        return f"lbk_{key_id}_{secret}", record

    @translate_errors
    async def list(self) -> list[ApiKey]:
        ids = sorted(text(member) for member in await self._redis.smembers(self._keys.api_keys))
        records = []
        for key_id in ids:
            record = await self._load(key_id)
            if record is not None:
                records.append(record[0])
        return records

    @translate_errors
    async def revoke(self, key_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.api_key(key_id))
            pipe.srem(self._keys.api_keys, key_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    @translate_errors
    async def authenticate(self, token: str) -> ApiKey | None:
        prefix, key_id, secret = token[:4], token[4:16], token[17:]
        if prefix != "lbk_" or token[16:17] != "_" or not secret:
            return None
        if not all(c in "0123456789abcdef" for c in key_id):
            return None
        loaded = await self._load(key_id)
        if loaded is None:
            return None
        record, stored_hash = loaded
        if not hmac.compare_digest(stored_hash, self._keyring.api_key_hash(key_id, secret)):
            return None
        now = int(time.time() * 1000)
        if record.last_used_at_ms is None or now - record.last_used_at_ms > LAST_USED_PRECISION_MS:
            await self._redis.hset(self._keys.api_key(key_id), "last_used_at", now)
        return record

    async def _load(self, key_id: str) -> tuple[ApiKey, str] | None:
        raw = await self._redis.hgetall(self._keys.api_key(key_id))
        if not raw:
            return None
        fields = {text(k): text(v) for k, v in raw.items()}
        last_used = fields.get("last_used_at")
        record = ApiKey(
            id=key_id,
            name=fields["name"],
            role=fields["role"],
            sites=tuple(s for s in fields["sites"].split(",") if s),
            created_at_ms=int(fields["created_at"]),
            last_used_at_ms=int(last_used) if last_used else None,
        )
        return record, fields["hash"]
