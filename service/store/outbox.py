"""Webhook delivery from the Redis outbox.

The scripts that change a comment put one delivery per subscribed target in
the site's outbox, in the same atomic call. A background task in every
service worker takes due deliveries (with a lease, so a worker that dies
mid-delivery only delays one), POSTs them, and settles each: delivered,
retried later with exponential backoff and jitter, or dead after the last
attempt, where admins see it. Delivery is at least once; a receiver
de-duplicates by the `Loibinh-Delivery` header.

Each delivery is signed: `Loibinh-Signature: t=<unix seconds>,v1=<hex>`,
where v1 is HMAC-SHA256 over `<t>.<body>` with the webhook's secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from redis.asyncio import Redis

from service import models
from service.background import checkpoint
from service.clock import now_ms, rfc3339
from service.metrics import Metrics
from service.settings import Settings, Webhook
from service.store.connection import UNREACHABLE, text, translate_errors
from service.store.keyschema import SiteKeys
from service.store.scripts import Scripts
from service.store.signatures import (
    OutboxRequeueArgs,
    OutboxRequeueKeys,
    OutboxSettleArgs,
    OutboxSettleKeys,
    OutboxTakeArgs,
    OutboxTakeKeys,
)

log = logging.getLogger(__name__)

TAKE_BATCH = 20
# Most dead deliveries one bulk requeue takes when none are named.
REQUEUE_ALL_LIMIT = 1000


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def backoff_ms(attempts: int, base_seconds: float, max_seconds: float) -> int:
    """Exponential backoff with full jitter: receivers that failed together
    are not retried together."""
    ceiling = min(max_seconds, base_seconds * 2 ** (attempts - 1))
    return int(1000 * random.uniform(ceiling / 2, ceiling))


# A receiver inside the service itself (the mail stage's planner): it takes
# the site id and the delivery, and raises to have it retried.
Receiver = Callable[[str, dict[str, Any]], Awaitable[None]]


class Outbox:
    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        settings: Settings,
        metrics: Metrics,
        receivers: dict[str, Receiver] | None = None,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._settings = settings
        self._metrics = metrics
        self._receivers = receivers or {}

    def _keys(self, site_id: str) -> SiteKeys:
        return SiteKeys(self._settings.redis.key_prefix, site_id)

    async def run(self) -> None:
        """Background task: deliver what is due on every site with webhooks."""
        config = self._settings.webhooks
        timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                checkpoint()
                busy = False
                for site_id, site in self._settings.sites.items():
                    if not site.webhooks and site.mail is None:
                        continue
                    checkpoint()
                    try:
                        busy |= await self.deliver_due(session, site_id) > 0
                    except UNREACHABLE as exc:
                        log.warning(
                            "webhook delivery for %s skipped: Redis unreachable (%s)", site_id, exc
                        )
                    except Exception:
                        log.exception("webhook delivery for %s failed", site_id)
                if not busy:
                    await asyncio.sleep(config.poll_interval_seconds)

    async def deliver_due(self, session: aiohttp.ClientSession, site_id: str) -> int:
        keys = self._keys(site_id)
        config = self._settings.webhooks
        taken = await self._scripts.outbox_take(
            OutboxTakeKeys(keys.outbox_due, keys.outbox),
            OutboxTakeArgs(TAKE_BATCH, int(config.lease_seconds * 1000)),
        )
        hooks = {hook.name: hook for hook in self._settings.sites[site_id].webhooks}
        pairs = [(text(taken[i]), orjson.loads(taken[i + 1])) for i in range(0, len(taken), 2)]
        await asyncio.gather(*(self._deliver(session, keys, hooks, d, e) for d, e in pairs))
        return len(pairs)

    async def _deliver(
        self,
        session: aiohttp.ClientSession,
        keys: SiteKeys,
        hooks: dict[str, Webhook],
        delivery_id: str,
        entry: dict[str, object],
    ) -> None:
        config = self._settings.webhooks
        target = str(entry["target"])
        hook = hooks.get(target)
        attempts = int(str(entry.get("attempts", 0))) + 1
        error = ""
        receiver = self._receivers.get(target)
        if receiver is not None:
            try:
                await receiver(keys.site, dict(entry))
            except UNREACHABLE:
                raise
            except Exception as exc:
                log.exception("the %s receiver failed on %s", target, delivery_id)
                error = f"{type(exc).__name__}: {exc}"[:300]
            else:
                await self._settle(keys, delivery_id, "delivered", 0, entry)
                return
        elif hook is None:
            error = "the webhook is no longer configured"
        else:
            body = str(entry["body"]).encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "loibinh-webhooks/1",
                "Loibinh-Event": str(entry["event"]),
                "Loibinh-Delivery": delivery_id,
                "Loibinh-Signature": signature(
                    hook.secret.get_secret_value(), int(time.time()), body
                ),
            }
            try:
                async with session.post(hook.url, data=body, headers=headers) as response:
                    if 200 <= response.status < 300:
                        await self._settle(keys, delivery_id, "delivered", 0, entry)
                        return
                    error = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
        entry = {**entry, "attempts": attempts, "last_error": error}
        if (hook is None and receiver is None) or attempts >= config.max_attempts:
            log.warning(
                "webhook delivery %s is dead after %d attempts: %s", delivery_id, attempts, error
            )
            await self._settle(keys, delivery_id, "dead", 0, entry)
        else:
            delay = backoff_ms(attempts, config.backoff_base_seconds, config.backoff_max_seconds)
            await self._settle(keys, delivery_id, "retry", delay, entry)

    async def _settle(
        self,
        keys: SiteKeys,
        delivery_id: str,
        outcome: str,
        delay_ms: int,
        entry: dict[str, object],
    ) -> None:
        config = self._settings.webhooks
        await self._scripts.outbox_settle(
            OutboxSettleKeys(keys.outbox_due, keys.outbox, keys.outbox_dead),
            OutboxSettleArgs(
                delivery_id,
                outcome,
                delay_ms,
                orjson.dumps(entry),
                config.dead_keep_seconds * 1000,
                config.dead_max,
            ),
        )
        self._metrics.webhook_deliveries.labels(keys.site, outcome).inc()

    @translate_errors
    async def dead_letters(
        self, site_id: str, query: models.DeadLettersQuery
    ) -> models.DeadLetters:
        """The dead deliveries still kept, newest first, a page at a time."""
        keys = self._keys(site_id)
        kept_from = now_ms() - self._settings.webhooks.dead_keep_seconds * 1000
        cursor = _cursor(query.before)
        high = cursor[0] if cursor else "+inf"
        total = int(await self._redis.zcount(keys.outbox_dead, f"({kept_from}", "+inf"))
        found: list[tuple[str, int]] = []
        offset = 0
        while len(found) <= query.limit:
            chunk: list[Any] = await self._redis.zrevrangebyscore(
                keys.outbox_dead,
                high,
                f"({kept_from}",
                start=offset,
                num=query.limit + 1,
                withscores=True,
            )
            if not chunk:
                break
            offset += len(chunk)
            for member, score in chunk:
                delivery_id, died = text(member), int(score)
                # Redis orders equal scores by member, backwards here: what
                # is not past the cursor was on the previous page.
                if cursor and died == cursor[0] and delivery_id >= cursor[1]:
                    continue
                found.append((delivery_id, died))
        page, more = found[: query.limit], len(found) > query.limit
        deliveries = []
        raw = await self._redis.hmget(keys.outbox, [i for i, _ in page]) if page else []
        for (delivery_id, died), value in zip(page, raw, strict=True):
            if value is None:
                continue
            entry = orjson.loads(value)
            deliveries.append(
                models.DeadLetter(
                    id=delivery_id,
                    target=entry["target"],
                    event=entry["event"],
                    attempts=entry["attempts"],
                    last_error=entry.get("last_error", ""),
                    died_at=rfc3339(died),
                    comment=_comment_of(entry.get("body")),
                )
            )
        last = page[-1] if page else None
        return models.DeadLetters(
            deliveries=deliveries,
            total=total,
            next=f"{last[1]}.{last[0]}" if more and last else None,
        )

    @translate_errors
    async def requeue(self, site_id: str, delivery_ids: list[str]) -> list[str]:
        """Give dead deliveries a fresh set of attempts, due now: the ones
        named, or with none named the oldest up to REQUEUE_ALL_LIMIT. The
        ids requeued; those not dead are skipped."""
        keys = self._keys(site_id)
        done = await self._scripts.outbox_requeue(
            OutboxRequeueKeys(keys.outbox_due, keys.outbox, keys.outbox_dead),
            OutboxRequeueArgs(REQUEUE_ALL_LIMIT, tuple(delivery_ids)),
        )
        return [text(i) for i in done]

    @translate_errors
    async def dead_count(self, site_id: str) -> int:
        return int(await self._redis.zcard(self._keys(site_id).outbox_dead))


def _cursor(value: str | None) -> tuple[int, str] | None:
    """A page cursor: when the last delivery shown died (ms), a dot, its id."""
    if value is None:
        return None
    died, _, delivery_id = value.partition(".")
    return int(died), delivery_id


def _comment_of(body: object) -> str | None:
    """The id of the comment an event is about, for admins to look it up."""
    try:
        payload = orjson.loads(str(body))
        return str(payload["comment"]["id"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
