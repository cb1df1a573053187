"""Moderation: the queues, exclusive claims, decisions, a comment's history,
the audit log, bans, reader reports and erasure.

Every change is one Lua script that also writes its audit entry, history and
webhook deliveries, so no action is ever done without its record. Reads that
need keys only known after a first read (a comment's thread, say) make that
read first: a comment's thread and author never change, so nothing can slip
between the two round trips.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from service import models
from service.clock import now_ms, rfc3339
from service.errors import UnknownComment
from service.keyring import Keyring
from service.models import STATES
from service.moderation.apikeys import ApiKey
from service.settings import Site
from service.store.connection import text, translate_errors
from service.store.keyschema import SiteKeys
from service.store.ratelimit import ADDRESS_POLICIES, SUBMIT_EMAIL, Usage, report_limits
from service.store.scripts import Scripts
from service.store.signatures import (
    BanArgs,
    BanKeys,
    ClaimArgs,
    ClaimKeys,
    DecideArgs,
    DecideKeys,
    EraseArgs,
    EraseKeys,
    ReportArgs,
    ReportKeys,
)
from service.submission.render import body_html

ACTION_TARGET = {
    "approve": "approved",
    "approve_and_trust": "approved",
    "reject": "rejected",
    "reject_author": "rejected",
    "spam": "spam",
}
SCRIPT_ACTION = {
    "approve": "approve",
    "approve_and_trust": "approve",
    "reject": "reject",
    "reject_author": "reject",
    "spam": "spam",
}
# approve_and_trust also trusts the author; reject_author takes down what of
# theirs is already published, which a plain reject refuses as a conflict.
FLAGS = {"approve_and_trust": "trust", "reject_author": "force"}
# How far back the audit filter looks for matching entries in one request.
AUDIT_SCAN_LIMIT = 10_000
# Erasure retries if the author posts while their comments are being erased.
ERASE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an API key, as the audit log records it."""

    key_id: str
    name: str
    admin: bool

    @classmethod
    def of(cls, key: ApiKey) -> Actor:
        return cls(key.id, key.name, key.at_least("admin"))


@dataclass(frozen=True, slots=True)
class Reported:
    flagged: bool
    usage: list[Usage]


class Moderation:
    def __init__(self, redis: Redis, scripts: Scripts, keyring: Keyring, prefix: str) -> None:
        self._redis = redis
        self._scripts = scripts
        self._keyring = keyring
        self._prefix = prefix

    def keys(self, site_id: str) -> SiteKeys:
        return SiteKeys(self._prefix, site_id)

    @translate_errors
    async def queue(self, site_id: str, query: models.QueueQuery) -> models.QueuePage:
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

    @translate_errors
    async def decide(
        self, site_id: str, site: Site, actor: Actor, decisions: Sequence[models.Decision]
    ) -> list[models.DecisionResult]:
        keys = self.keys(site_id)
        expanded = await self._expand(keys, decisions)
        ids = [d.id for d in expanded]
        threads = await self._fields(keys, ids, "thread")
        results: dict[int, models.DecisionResult] = {}
        batch: list[int] = []
        for index, decision in enumerate(expanded):
            if threads[index] is None:
                results[index] = _result(decision, 404, "missing", "no such comment")
            else:
                batch.append(index)
        if batch:
            item_keys: list[str] = []
            item_args: list[str] = []
            for index in batch:
                decision = expanded[index]
                thread = threads[index] or ""
                item_keys += [
                    keys.comment(decision.id),
                    keys.thread(thread),
                    keys.thread_public(thread),
                    keys.history(decision.id),
                ]
                flag = FLAGS.get(decision.action, "")
                item_args += [decision.id, SCRIPT_ACTION[decision.action], decision.reason, flag]
            outcomes = await self._scripts.decide(
                DecideKeys(
                    pending_queue=keys.queue("pending"),
                    reported_queue=keys.queue("reported"),
                    approved_queue=keys.queue("approved"),
                    rejected_queue=keys.queue("rejected"),
                    spam_queue=keys.queue("spam"),
                    lease_expiries=keys.leases,
                    lease_owners=keys.lease_owner,
                    trusted=keys.trusted,
                    trusted_always=keys.trusted_always,
                    audit=keys.audit,
                    outbox_due=keys.outbox_due,
                    outbox=keys.outbox,
                    strikes=keys.strikes,
                    item_keys=tuple(item_keys),
                ),
                DecideArgs(
                    key_id=actor.key_id,
                    moderator=actor.name,
                    admin=int(actor.admin),
                    items=len(batch),
                    approved_targets=site.webhook_targets("comment.approved"),
                    rejected_targets=site.webhook_targets("comment.rejected"),
                    site=site_id,
                    delivery_base=secrets.token_hex(8),
                    item_args=tuple(item_args),
                ),
            )
            for index, outcome in zip(batch, outcomes, strict=True):
                results[index] = _outcome(expanded[index], text(outcome))
        return [results[i] for i in range(len(expanded))]

    async def _expand(
        self, keys: SiteKeys, decisions: Sequence[models.Decision]
    ) -> list[models.Decision]:
        """Each decision stands for itself, in order; `reject_author` is
        followed by a rejection of each other comment of that author (as
        they are now) that the batch does not already name."""
        named = {d.id for d in decisions}
        expanded: list[models.Decision] = []
        for decision in decisions:
            expanded.append(decision)
            if decision.action != "reject_author":
                continue
            [email_hash] = await self._fields(keys, [decision.id], "email_hash")
            if not email_hash:
                continue
            members = await self._redis.smembers(keys.author(email_hash))
            for comment_id in sorted(text(m) for m in members):
                if comment_id not in named:
                    named.add(comment_id)
                    expanded.append(decision.model_copy(update={"id": comment_id}))
        return expanded

    async def _fields(self, keys: SiteKeys, ids: Sequence[str], field: str) -> list[str | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for comment_id in ids:
                pipe.hget(keys.comment(comment_id), field)
            values = await pipe.execute()
        return [text(v) if v is not None else None for v in values]

    @translate_errors
    async def comment(self, site_id: str, comment_id: str) -> models.CommentDetail:
        keys = self.keys(site_id)
        found = await self._items(keys, [comment_id])
        if not found:
            raise UnknownComment(f"no comment {comment_id} on this site")
        item = found[0]
        raw = await self._redis.lrange(keys.history(comment_id), 0, -1)
        history = [_history_event(orjson.loads(entry)) for entry in raw]
        submitted = models.HistoryEvent(
            at=item.created_at, key="", moderator="", action="submitted", reason=""
        )
        return models.CommentDetail(**item.model_dump(), history=[submitted, *history])

    @translate_errors
    async def audit(self, site_id: str, query: models.AuditQuery) -> models.AuditPage:
        stream = self.keys(site_id).audit
        entries: list[models.AuditEntry] = []
        if query.before == "0-0":
            return models.AuditPage(entries=[], next=None)  # nothing comes before the first id
        high = "(" + query.before if query.before else "+"
        scanned = 0
        exhausted = False
        while len(entries) < query.limit and scanned < AUDIT_SCAN_LIMIT:
            chunk = await self._redis.xrevrange(stream, high, "-", count=200)
            if not chunk:
                exhausted = True
                break
            for entry_id, fields in chunk:
                scanned += 1
                pairs: dict[Any, Any] = fields or {}
                entry = _audit_entry(text(entry_id), {text(k): text(v) for k, v in pairs.items()})
                high = "(" + entry.id
                if query.moderator and entry.key != query.moderator:
                    continue
                if query.comment and entry.comment != query.comment:
                    continue
                entries.append(entry)
                if len(entries) == query.limit:
                    break
            if len(chunk) < 200 and len(entries) < query.limit:
                exhausted = True
                break
        more = not exhausted and bool(entries)
        return models.AuditPage(entries=entries, next=high[1:] if more else None)

    @translate_errors
    async def ban(self, site_id: str, actor: Actor, request: models.BanRequest) -> models.Ban:
        keys = self.keys(site_id)
        if request.email is not None:
            kind, subject = "email", self._keyring.email_hash(site_id, request.email)
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
    async def bans(self, site_id: str) -> models.BanList:
        raw = await self._redis.hgetall(self.keys(site_id).bans)
        now = now_ms()
        bans = []
        for value in raw.values():
            record = orjson.loads(value)
            if record["until_ms"] and record["until_ms"] <= now:
                continue  # expired: the accept script no longer sees it either
            bans.append(models.Ban(**{k: record[k] for k in models.Ban.model_fields}))
        return models.BanList(bans=sorted(bans, key=lambda b: b.created_at))

    @translate_errors
    async def report(
        self, site_id: str, site: Site, comment_id: str, ip_hash: str, reason: str
    ) -> Reported:
        keys = self.keys(site_id)
        [thread] = await self._fields(keys, [comment_id], "thread")
        limits = report_limits(keys, site, ip_hash, thread)
        thread = thread or "-"
        result = await self._scripts.report(
            ReportKeys(
                comment=keys.comment(comment_id),
                reporters=keys.reporters(comment_id),
                thread_ids=keys.thread(thread),
                thread_public=keys.thread_public(thread),
                history=keys.history(comment_id),
                pending_queue=keys.queue("pending"),
                approved_queue=keys.queue("approved"),
                reported_queue=keys.queue("reported"),
                outbox_due=keys.outbox_due,
                outbox=keys.outbox,
                limit_keys=limits,
            ),
            ReportArgs(
                reporter_hash=ip_hash,
                reason=reason,
                threshold=site.reports_threshold,
                hide=int(site.hide_reported),
                targets=site.webhook_targets("comment.reported"),
                site=site_id,
                comment_id=comment_id,
                delivery_id=secrets.token_hex(8),
                limit_args=limits,
            ),
        )
        usage = limits.settle(result)
        outcome = text(result[0])
        if outcome == "unknown":
            raise UnknownComment(f"no published comment {comment_id} on this site")
        return Reported(flagged=outcome == "flagged", usage=usage)

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
        author=models.ModeratedAuthor(name=fields["name"], email=fields["email"]),
        body=fields["body"],
        body_html=body_html(fields["body"]),
        created_at=rfc3339(int(fields["created_at"])),
        status=fields["status"],
        published=fields.get("visible") == "1",
        score=float(fields.get("score") or 0),
        reasons=[r for r in reasons.split(",") if r],
        reports=int(fields.get("reports") or 0),
        lease=lease,
    )


def _history_event(entry: dict[str, Any]) -> models.HistoryEvent:
    return models.HistoryEvent(
        at=rfc3339(int(entry["at"])),
        key=str(entry.get("key", "")),
        moderator=str(entry.get("moderator", "")),
        action=str(entry["action"]),
        reason=str(entry.get("reason", "")),
    )


def _audit_entry(entry_id: str, fields: dict[str, str]) -> models.AuditEntry:
    return models.AuditEntry(
        id=entry_id,
        at=rfc3339(int(fields["at"])),
        key=fields.get("key", ""),
        moderator=fields.get("moderator", ""),
        action=fields.get("action", ""),
        comment=fields.get("comment") or None,
        reason=fields.get("reason", ""),
    )


def _result(
    decision: models.Decision, status: int, outcome: str, detail: str
) -> models.DecisionResult:
    return models.DecisionResult(
        id=decision.id, action=decision.action, status=status, outcome=outcome, detail=detail
    )


def _outcome(decision: models.Decision, outcome: str) -> models.DecisionResult:
    target = ACTION_TARGET[decision.action]
    if outcome == target:
        return _result(decision, 200, outcome, f"now {outcome}")
    if outcome == "unchanged":
        return _result(decision, 200, "unchanged", f"already {target}")
    if outcome == "missing":
        return _result(decision, 404, "missing", "no such comment")
    if outcome == "leased":
        return _result(decision, 409, "leased", "another moderator holds a live lease on it")
    status = outcome.partition(":")[2]
    return _result(decision, 409, "conflict", f"already {status}; a different decision stands")
