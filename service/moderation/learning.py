"""The site's learned model, kept in Redis and learned from its moderators.

Every decision a moderator or admin makes is appended to the site's training
stream by the decision script itself (ids and labels only). One learner per
deployment, held by a lease in Redis, reads each stream in order, reads the
comment's text where it still is, updates the site's model and publishes a
new version under the site's hash tag; every worker polls the versions and
scores with the newest one within seconds (`SiteModels`). Nothing of this is
on a request's path: a submission is scored with the model the worker holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from service.background import checkpoint
from service.clock import now_ms, rfc3339
from service.models import ModelAction, ModelStatus
from service.moderation.shared import Actor
from service.screening.model import Model, base_model, extract
from service.settings import Settings
from service.store.connection import UNREACHABLE, text, translate_errors
from service.store.keyschema import GlobalKeys, SiteKeys
from service.store.scripts import Scripts
from service.store.signatures import (
    ModelAdminArgs,
    ModelAdminKeys,
    ModelPublishArgs,
    ModelPublishKeys,
)

log = logging.getLogger(__name__)

# How often each worker asks whether a site's model has a new version: the
# bound on how long a new version takes to reach every worker.
POLL_SECONDS = 2.0
# The learner's lease, renewed at a third of it: a learner that dies hands
# over to another worker within this long.
LEASE_MS = 15_000
# Decisions learned per site before a version is published: a version is a
# write of the whole model, so it is made per batch, not per decision.
BATCH = 200
# A learner with nothing to learn looks again after this long.
IDLE_SECONDS = 1.0
# The most decisions waiting to be learned that a status counts.
PENDING_SHOWN = 10_000


# A training stream's entries as redis-py reads them: (id, fields).
Entries = list[tuple[bytes, dict[bytes, bytes]]]


async def _entries(redis: Redis, stream: str, after: bytes | str | None, count: int) -> Entries:
    """Up to `count` entries of a stream after the entry id `after` (None: from the start)."""
    low = "(" + text(after) if after else "-"
    return cast(Entries, await redis.xrange(stream, low, "+", count=count))


class SiteModels:
    """The model each worker scores a site's submissions with: the site's
    newest published version, or the base model until it has one."""

    def __init__(self, redis: Redis, prefix: str, sites: Iterable[str]) -> None:
        self._redis = redis
        self._prefix = prefix
        self._sites = tuple(sites)
        self._models: dict[str, Model] = {}
        self._versions: dict[str, int] = {}

    def current(self, site_id: str) -> Model:
        return self._models.get(site_id) or base_model()

    def version(self, site_id: str) -> int:
        return self._versions.get(site_id, 0)

    async def refresh(self) -> None:
        """Load every site whose published version changed. One small read
        per site when nothing did."""
        for site_id in self._sites:
            key = SiteKeys(self._prefix, site_id).model
            version = int(await self._redis.hget(key, "version") or 0)
            if version == self._versions.get(site_id, 0) and site_id in self._models:
                continue
            weights = cast(bytes | None, await self._redis.hget(key, "weights"))
            self._models[site_id] = Model.from_bytes(weights) if weights else base_model()
            self._versions[site_id] = version

    async def run(self) -> None:
        while True:
            checkpoint()
            with contextlib.suppress(*UNREACHABLE):
                await self.refresh()
            await asyncio.sleep(POLL_SECONDS)


class ModelAdmin:
    """What an admin may do with a site's model: see it, reset it to the
    base, freeze and thaw learning, and exclude a key's decisions from it."""

    def __init__(self, redis: Redis, scripts: Scripts, prefix: str) -> None:
        self._redis = redis
        self._scripts = scripts
        self._prefix = prefix

    @translate_errors
    async def status(self, site_id: str) -> ModelStatus:
        keys = SiteKeys(self._prefix, site_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.model, "version", "learned", "frozen", "updated_at", "last_id")
            pipe.smembers(keys.model_excluded)
            (version, learned, frozen, updated, last_id), excluded = await pipe.execute()
        # Counted up to a bound: a status page need not read a whole backlog.
        pending = await _entries(self._redis, keys.training, last_id, PENDING_SHOWN)
        return ModelStatus(
            version=int(version or 0),
            learned=int(learned or 0),
            frozen=frozen == b"1",
            updated_at=rfc3339(int(updated)) if updated else None,
            excluded_keys=sorted(text(k) for k in excluded),
            pending=len(pending),
        )

    @translate_errors
    async def recent_scores(
        self, site_id: str, last: int, min_length: int = 0
    ) -> list[tuple[float, bool]]:
        """The site's current model's probability for each of the comments of
        its last `last` decisions (the latest decision for each), with the
        label the decision gave; 0 for a body shorter than `min_length`,
        which the model never holds (`model.min_length`). The model has
        learned from most of them, so thresholds chosen on them are a little
        optimistic."""
        keys = SiteKeys(self._prefix, site_id)
        weights = cast(bytes | None, await self._redis.hget(keys.model, "weights"))
        model = Model.from_bytes(weights) if weights else base_model()
        labels: dict[str, bool] = {}
        newest = cast(Entries, await self._redis.xrevrange(keys.training, "+", "-", count=last))
        for _, fields in newest:
            labels.setdefault(text(fields[b"id"]), fields[b"label"] == b"1")
        async with self._redis.pipeline(transaction=False) as pipe:
            for comment_id in labels:
                pipe.hmget(keys.comment(comment_id), "name", "body")
            texts = await pipe.execute()
        return [
            (_held_probability(model, text(name or b""), text(body), min_length), label)
            for (name, body), label in zip(texts, labels.values(), strict=True)
            if body is not None
        ]

    @translate_errors
    async def act(
        self, site_id: str, actor: Actor, action: ModelAction, subject: str = "", reason: str = ""
    ) -> ModelStatus:
        """Reset, freeze, thaw, or exclude or include a key's decisions, with
        its audit entry; the model's status after it."""
        keys = SiteKeys(self._prefix, site_id)
        await self._scripts.model_admin(
            ModelAdminKeys(
                keys.model, keys.model_labels, keys.training, keys.model_excluded, keys.audit
            ),
            ModelAdminArgs(action, subject, actor.key_id, actor.name, reason),
        )
        return await self.status(site_id)


def _held_probability(model: Model, name: str, body: str, min_length: int) -> float:
    return model.probability(extract(name, body)) if len(body) >= min_length else 0.0


@dataclass(frozen=True, slots=True)
class Recommendation:
    threshold: float  # hold at this probability or above
    recall: float  # of the abusive decisions, the share held at it
    clean_held: float  # of the clean decisions, the share held at it
    abusive: int
    clean: int


def recommend(scored: Sequence[tuple[float, bool]], clean_held: float) -> Recommendation:
    """The lowest threshold that holds at most `clean_held` of the clean
    comments among `scored` (probability, abusive), with what it catches."""
    clean = sorted((p for p, abusive in scored if not abusive), reverse=True)
    abusive = [p for p, is_abusive in scored if is_abusive]
    allowed = int(clean_held * len(clean))
    # Just above the first clean comment that would be one too many.
    threshold = min(1.0, clean[allowed] + 1e-6) if allowed < len(clean) else 0.0
    caught = sum(p >= threshold for p in abusive)
    return Recommendation(
        threshold=threshold,
        recall=caught / len(abusive) if abusive else 0.0,
        clean_held=sum(p >= threshold for p in clean) / len(clean) if clean else 0.0,
        abusive=len(abusive),
        clean=len(clean),
    )


class Learner:
    """Learns every site's model from its training stream, in order. Runs in
    every worker; only the holder of the lease learns."""

    def __init__(self, redis: Redis, scripts: Scripts, settings: Settings) -> None:
        self._redis = redis
        self._scripts = scripts
        self._settings = settings
        self._prefix = settings.redis.key_prefix
        self._id = secrets.token_hex(8)
        self._lease = GlobalKeys(self._prefix).learner_lease

    async def hold_lease(self) -> bool:
        """Take the lease, or renew it if this learner has it."""
        if await self._redis.set(self._lease, self._id, nx=True, px=LEASE_MS):
            return True
        if text(await self._redis.get(self._lease) or b"") == self._id:
            await self._redis.pexpire(self._lease, LEASE_MS)
            return True
        return False

    async def has_work(self) -> bool:
        """Whether any site has a decision not learned yet (reads only)."""
        for site_id in self._settings.sites:
            keys = SiteKeys(self._prefix, site_id)
            last_id = await self._redis.hget(keys.model, "last_id")
            if await _entries(self._redis, keys.training, last_id, 1):
                return True
        return False

    async def release(self) -> None:
        """Hand the lease over at once on a clean stop."""
        if text(await self._redis.get(self._lease) or b"") == self._id:
            await self._redis.delete(self._lease)

    async def run(self) -> None:
        try:
            while True:
                checkpoint()
                learned = 0
                with contextlib.suppress(*UNREACHABLE):
                    # Idle, no worker writes anything, not even the lease.
                    if await self.has_work() and await self.hold_lease():
                        for site_id in self._settings.sites:
                            learned += await self.step(site_id)
                await asyncio.sleep(0 if learned else IDLE_SECONDS)
        finally:
            with contextlib.suppress(*UNREACHABLE):
                await self.release()

    @translate_errors
    async def step(self, site_id: str) -> int:
        """Learn up to a batch of the site's decisions and publish the model.
        Returns how many decisions were read (learned or skipped)."""
        keys = SiteKeys(self._prefix, site_id)
        version, last_id, frozen, weights = await self._redis.hmget(
            keys.model, "version", "last_id", "frozen", "weights"
        )
        entries = await _entries(self._redis, keys.training, last_id, BATCH)
        if not entries:
            return 0
        rules = self._settings.sites[site_id].model
        learning = frozen != b"1" and rules.learn
        model = Model.from_bytes(cast(bytes, weights)) if weights else base_model().copy()
        excluded = {text(k) for k in await self._redis.smembers(keys.model_excluded)}
        decisions = [
            (text(fields[b"id"]), fields[b"label"] == b"1")
            for _, fields in entries
            if learning and text(fields[b"key"]) not in excluded
        ]
        labels: dict[str, bool] = {}
        taught = 0  # decisions learned, a corrected one included
        if decisions:
            ids = [comment_id for comment_id, _ in decisions]
            async with self._redis.pipeline(transaction=False) as pipe:
                for comment_id in ids:
                    pipe.hmget(keys.comment(comment_id), "name", "body")
                pipe.hmget(keys.model_labels, ids)
                *texts, learned_before = await pipe.execute()
            known = {
                comment_id: before == b"1"
                for comment_id, before in zip(ids, learned_before, strict=True)
                if before is not None
            }
            for (comment_id, label), (name, body) in zip(decisions, texts, strict=True):
                if body is None:
                    continue  # erased since: nothing left to learn from
                features = extract(text(name or b""), text(body))
                if comment_id in known:
                    if known[comment_id] == label:
                        continue  # the same decision again teaches nothing new
                    model.unlearn(features, known[comment_id])
                model.learn(features, label)
                taught += 1
                labels[comment_id] = known[comment_id] = label
        new_version = await self._scripts.model_publish(
            ModelPublishKeys(keys.model, keys.model_labels),
            ModelPublishArgs(
                expected_version=int(version or 0),
                weights=model.to_bytes() if labels else b"",
                last_id=text(entries[-1][0]),
                learned=taught,
                updated_ms=now_ms(),
                label_pairs=tuple(
                    x for cid, lab in labels.items() for x in (cid, "1" if lab else "0")
                ),
            ),
        )
        if new_version == b"stale":
            log.info("the model of %s changed while learning (a reset?); learning again", site_id)
        return len(entries)
