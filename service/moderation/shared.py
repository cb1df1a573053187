"""What the parts of moderation share: who acts, and reading a site's comment
hashes as queue items or one field at a time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from service import models
from service.clock import now_ms, rfc3339
from service.moderation.apikeys import ApiKey
from service.store.connection import text
from service.store.keyschema import SiteKeys
from service.store.readcache import ReadCache
from service.store.scripts import Scripts
from service.text.render import body_html


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an API key, as the audit log records it."""

    key_id: str
    name: str
    admin: bool

    @classmethod
    def of(cls, key: ApiKey) -> Actor:
        return cls(key.id, key.name, key.at_least("admin"))


class Part:
    """One part of moderation: Redis, its scripts and the key prefix, and the
    reads of comment hashes the parts have in common. A part that changes
    what a thread shows is given this worker's read cache, to forget the
    thread's copies."""

    def __init__(
        self, redis: Redis, scripts: Scripts, prefix: str, read_cache: ReadCache | None = None
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._prefix = prefix
        self._read_cache = read_cache

    def _changed(self, site_id: str, threads: Iterable[str]) -> None:
        if self._read_cache is not None:
            self._read_cache.forget(site_id, threads)

    def keys(self, site_id: str) -> SiteKeys:
        return SiteKeys(self._prefix, site_id)

    async def _fields(self, keys: SiteKeys, ids: Sequence[str], field: str) -> list[str | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for comment_id in ids:
                pipe.hget(keys.comment(comment_id), field)
            values = await pipe.execute()
        return [text(v) if v is not None else None for v in values]

    async def _items(self, keys: SiteKeys, ids: Sequence[str]) -> list[models.QueueItem]:
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for comment_id in ids:
                pipe.hgetall(keys.comment(comment_id))
            pipe.zmscore(keys.leases, list(ids))
            pipe.hmget(keys.lease_owner, list(ids))
            *hashes, expiries, owners = await pipe.execute()
        now = now_ms()
        items = []
        for raw, expiry, owner in zip(hashes, expiries, owners, strict=True):
            if not raw:
                continue  # erased or decided away between the two reads
            fields = {text(k): text(v) for k, v in raw.items()}
            lease = None
            if expiry is not None and expiry > now and owner is not None:
                lease = models.Lease(key_id=text(owner), until=rfc3339(int(expiry)))
            items.append(_queue_item(fields, lease))
        return items


def _queue_item(fields: dict[str, str], lease: models.Lease | None) -> models.QueueItem:
    reasons = fields.get("reasons", "")
    return models.QueueItem(
        id=fields["id"],
        thread=fields["thread"],
        parent_id=fields.get("parent_id") or None,
        author=models.ModeratedAuthor(
            name=fields["name"], email=fields["email"], user_id=fields.get("user") or None
        ),
        body=fields["body"],
        body_html=body_html(fields["body"]),
        created_at=rfc3339(int(fields["created_at"])),
        status=fields["status"],
        published=fields.get("visible") == "1",
        score=float(fields.get("score") or 0),
        reasons=[r for r in reasons.split(",") if r],
        model=float(fields["model"]) if fields.get("model") else None,
        reports=int(fields.get("reports") or 0),
        lease=lease,
    )
