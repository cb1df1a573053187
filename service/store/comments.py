"""The comment store: accepting a submission (one script call), publishing a
held comment, and reading a thread's published comments."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import orjson
from redis.asyncio import Redis

from service.clock import now_ms, rfc3339
from service.errors import (
    Banned,
    CaptchaFailed,
    FieldError,
    FormReused,
    StoreUnavailable,
    UnknownParent,
    ValidationFailed,
)
from service.ids import new_comment_id
from service.models import Submission
from service.screening.formtoken import FormCheck
from service.screening.screen import SCRIPT_WEIGHTS, Assessment
from service.settings import Site
from service.store.connection import RedisClock, translate_errors
from service.store.keyschema import SiteKeys
from service.store.ratelimit import RateLimits, Usage
from service.store.scripts import Scripts
from service.store.signatures import (
    AcceptArgs,
    AcceptKeys,
    AcceptSiteArgs,
    AcceptSiteKeys,
    ThreadPageArgs,
    ThreadPageKeys,
)
from service.text.render import body_html

# A client retrying within a day gets its first answer back; after that the
# key is forgotten and a retry is a new submission.
IDEMPOTENCY_TTL_SECONDS = 86_400


# What the accept script's captcha refusals tell the reader.
CAPTCHA_REFUSALS = {
    "wrong": "the captcha answer is wrong; ask for a new challenge",
    "expired": "the captcha challenge expired or was already used; ask for a new one",
    "spent": "the captcha was already used once (each solution is valid once); "
    "ask for a new challenge",
    "stronger": "stronger challenge required after failed attempts from this address; "
    "ask for a new challenge",
}


# How the captcha was answered, as the accept script consumes it.
Mode = Literal["image", "pow", "strong-pow", "token", "spent", "signed-in"]


@dataclass(frozen=True, slots=True)
class CaptchaCheck:
    """What the accept script does with the captcha (its captcha_mode and
    spent_ttl_ms): consume an image, mark a proof of work spent, or nothing
    more for a token a third party has vouched for, or for a reader signed
    in with the site's login, who answers none."""

    mode: Mode
    challenge_id: str = ""
    answer_hash: str = ""
    spent_key: str = ""
    spent_ttl_ms: int = 0


def escalation_args(site: Site) -> tuple[int, int, int]:
    """What the accept script needs of escalation: the failures that
    escalate (0: never), the window in ms, and whether abuse verdicts do."""
    if site.escalates_to is None:
        return 0, 1, 0
    captcha = site.captcha
    return (
        captcha.escalate_after,
        captcha.escalate_window_seconds * 1000,
        int(captcha.escalate_on_abuse),
    )


def accept_site_parts(
    keys: SiteKeys, site_id: str, site: Site
) -> tuple[AcceptSiteKeys, AcceptSiteArgs]:
    """The accept call's keys and arguments that only the site decides."""
    rules = site.abuse
    escalate_after, escalate_window_ms, escalate_on_abuse = escalation_args(site)
    site_keys = AcceptSiteKeys(
        pending_queue=keys.pending,
        captcha_live=keys.captcha_live,
        captcha_expiry=keys.captcha_expiry,
        trusted=keys.trusted,
        trusted_always=keys.trusted_always,
        approved_queue=keys.queue("approved"),
        rejected_queue=keys.queue("rejected"),
        outbox_due=keys.outbox_due,
        outbox=keys.outbox,
        spam_queue=keys.queue("spam"),
        strikes=keys.strikes,
    )
    site_args = AcceptSiteArgs(
        idempotency_ttl_s=IDEMPOTENCY_TTL_SECONDS,
        ban_response=site.ban_response,
        webhook_targets=site.webhook_targets("comment.submitted"),
        site=site_id,
        thresholds=f"{rules.hold_at} {rules.spam_at} {rules.reject_at}",
        fingerprint_window_s=rules.duplicate_window_seconds,
        weights=SCRIPT_WEIGHTS,
        escalate_after=escalate_after,
        escalate_window_ms=escalate_window_ms,
        escalate_on_abuse=escalate_on_abuse,
    )
    return site_keys, site_args


@dataclass(frozen=True, slots=True)
class Stored:
    """What the accept script did with a submission."""

    id: str
    status: str
    usage: list[Usage]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is submitting, pseudonymised: never the address or email in clear.
    A reader signed in with the site's login is known by their user id
    (kept on the comment for moderators) and its hash stands in for the
    email's: limits, trust, history, bans and erasure follow the user id."""

    ip_hash: str
    email_hash: str
    user_id: str = ""

    @property
    def ban_kind(self) -> str:
        """The kind of the author's ban key (keyschema ban): by user id or by email."""
        return "u" if self.user_id else "e"


def public_json(
    comment_id: str,
    parent_id: str | None,
    name: str,
    body: str,
    created_ms: int,
    verified: bool = False,
) -> bytes:
    """What the public read serves of a comment, made once when it is stored
    (submitted or imported): no email, no address, nothing derived from them
    (invariant 4). `verified`: the author was signed in with the site's login."""
    author: dict[str, object] = {"name": name}
    if verified:
        author["verified"] = True
    return orjson.dumps(
        {
            "id": comment_id,
            "parent_id": parent_id,
            "author": author,
            "body_html": body_html(body),
            "created_at": rfc3339(created_ms),
        }
    )


@dataclass(frozen=True, slots=True)
class ThreadPage:
    """A page of a thread's public read: the public JSON of its comments (none
    when only the ETag was asked for), whether more follow, the thread's count
    and the page's ETag."""

    items: list[bytes]
    more: bool
    total: int  # approved comments in the whole thread
    etag: str


def page_etag(ids: list[bytes], more: bool, total: int) -> str:
    """The ETag of a page of the public read. A comment's public JSON never
    changes once made (public_json, at submission), so the ids on the page (in
    their order), whether more follow and the thread's count name the body
    exactly: a revalidation reads the ids alone, and hashing them costs a
    fiftieth of hashing the body."""
    named = b" ".join(ids) + (b" +" if more else b" .") + b" %d" % total
    return '"' + hashlib.blake2b(named, digest_size=12).hexdigest() + '"'


def moderation_mode(site: Site, subject: Subject) -> str:
    """The accept script's mode: the site's, or `trusted` for a signed-in
    reader on a site that trusts its login (published unless the screening holds it)."""
    if subject.user_id and site.identity is not None and site.identity.trust == "trusted":
        return "trusted"
    return site.moderation


def content_digest(submission: Submission) -> str:
    """Tells a retry (same content) from a different submission reusing a
    key. The form token is not content: a client may fetch a new one between tries."""
    content = submission.model_dump(exclude={"form_token"})
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _holds_comment(result: list[bytes]) -> bool:
    """Whether the accept script's reply becomes a 202: what a 202 promises
    (redis.wait_replicas) is waited for on these replies alone."""
    return result[0] in (b"accepted", b"replay")


class CommentStore:
    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        prefix: str,
        clock: RedisClock,
        timeout_seconds: float,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._prefix = prefix
        self._clock = clock
        # The client gives up a command timeout after sending, and the
        # deadline is set before sending, less the clock's uncertainty: a
        # script that runs after it is refused, so a 503 never stores. Half
        # the timeout would leave the reply more time, but a busy loop can
        # take that long to send.
        self._deadline_ms = int(timeout_seconds * 1000)
        # One per configured site (the HTTP layer refuses any other id), made
        # once: a submission asks for its site's keys three times.
        self._keys: dict[str, SiteKeys] = {}
        # The accept call's site parts, made once per site (and again for
        # another Site object under the same id): the script call sends them
        # as bytes encoded once (packing.py).
        self._accept_sites: dict[str, tuple[Site, AcceptSiteKeys, AcceptSiteArgs]] = {}

    def keys(self, site_id: str) -> SiteKeys:
        keys = self._keys.get(site_id)
        if keys is None:
            keys = self._keys[site_id] = SiteKeys(self._prefix, site_id)
        return keys

    def _accept_site(self, site_id: str, site: Site) -> tuple[AcceptSiteKeys, AcceptSiteArgs]:
        made = self._accept_sites.get(site_id)
        if made is None or made[0] is not site:
            made = self._accept_sites[site_id] = (
                site,
                *accept_site_parts(self.keys(site_id), site_id, site),
            )
        return made[1], made[2]

    @translate_errors
    async def accept(
        self,
        site_id: str,
        site: Site,
        submission: Submission,
        subject: Subject,
        limits: RateLimits,
        captcha: CaptchaCheck,
        idempotency_hash: str | None,
        assessment: Assessment,
        form: FormCheck,
        model: float | None = None,
    ) -> Stored:
        """`model` is the learned model's probability, kept with the comment
        so that the queue can be sorted by it."""
        keys = self.keys(site_id)
        site_keys, site_args = self._accept_site(site_id, site)
        created_ms = now_ms()
        comment_id = new_comment_id(created_ms)
        parent = submission.parent_id
        window = site_args.fingerprint_window_s
        # Fingerprints live in one hash per window; the last one is read too,
        # so a comment is compared with at least a window's worth of others.
        bucket = created_ms // (window * 1000) if window else 0
        result = await self._scripts.accept(
            AcceptKeys(
                site_keys=site_keys,
                comment=keys.comment(comment_id),
                idempotency=keys.idempotency(idempotency_hash or "-"),
                parent=keys.comment(parent or "-"),
                thread_ids=keys.thread(submission.thread),
                thread_public=keys.thread_public(submission.thread),
                author_comments=keys.author(subject.email_hash),
                email_ban=keys.ban(subject.ban_kind, subject.email_hash),
                address_ban=keys.ban("i", subject.ip_hash),
                form_token_mark=keys.form_token(form.nonce or "-"),
                fingerprints=keys.fingerprints(bucket),
                fingerprints_before=keys.fingerprints(bucket - 1),
                spent_mark=captcha.spent_key or keys.pow_spent("-"),
                captcha_failures=keys.captcha_failures(subject.ip_hash),
                limit_keys=limits,
            ),
            AcceptArgs(
                site_args=site_args,
                id=comment_id,
                thread=submission.thread,
                parent_id=parent or "",
                name=submission.author.name,
                email=submission.author.email,
                body=submission.body,
                ip_hash=subject.ip_hash,
                email_hash=subject.email_hash,
                captcha_id=captcha.challenge_id,
                captcha_answer=captcha.answer_hash,
                mode=moderation_mode(site, subject),
                content_digest=content_digest(submission) if idempotency_hash else "",
                public_json=public_json(
                    comment_id,
                    parent,
                    submission.author.name,
                    submission.body,
                    created_ms,
                    verified=bool(subject.user_id),
                ),
                created_ms=created_ms,
                deadline_ms=self._clock.deadline_ms(self._deadline_ms),
                score=assessment.score,
                reasons=",".join(assessment.reasons),
                form_token_ttl_ms=form.ttl_ms if form.nonce else 0,
                text_fingerprint=assessment.fingerprint,
                links=assessment.links,
                captcha_mode=captcha.mode,
                spent_ttl_ms=captcha.spent_ttl_ms,
                model_probability="" if model is None else f"{model:.4f}",
                user_id=subject.user_id,
                notify=int(submission.notify),
                limit_args=limits,
            ),
            replicate_if=_holds_comment,
        )
        outcome = result[0]
        if outcome == b"accepted":
            return Stored(result[1].decode(), result[2].decode(), limits.settle(result))
        if outcome == b"replay":
            return Stored(result[1].decode(), result[2].decode(), [], replayed=True)
        if outcome == b"rate_limited":
            raise limits.refusal(result)
        if outcome == b"captcha_failed":
            reason = result[1].decode()
            raise CaptchaFailed(CAPTCHA_REFUSALS.get(reason, CAPTCHA_REFUSALS["expired"]), reason)
        if outcome == b"late":
            raise StoreUnavailable("the comment store answered too late; nothing was stored")
        if outcome == b"form_reused":
            raise FormReused("this form was already submitted; ask for a new challenge")
        if outcome == b"banned":
            raise Banned("you are banned from commenting on this site")
        if outcome == b"unknown_parent":
            raise UnknownParent(f"no published comment {parent} in thread {submission.thread}")
        if outcome == b"idempotency_mismatch":
            raise ValidationFailed(
                [
                    FieldError(
                        "Idempotency-Key", "this key was already used for a different submission"
                    )
                ]
            )
        raise RuntimeError(f"accept.lua answered {outcome!r}")

    @translate_errors
    async def thread_counts(self, site_id: str, threads: Sequence[str]) -> list[int]:
        """How many published comments each thread has: one pipelined ZCARD
        each, all of one site, so all on one Redis node."""
        keys = self.keys(site_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for thread in threads:
                pipe.zcard(keys.thread(thread))
            return [int(n) for n in await pipe.execute()]

    @translate_errors
    async def thread_page(
        self,
        site_id: str,
        thread: str,
        after: str | None,
        limit: int,
        *,
        newest: bool = False,
        bodies: bool = True,
    ) -> ThreadPage:
        """Public JSON of up to `limit` comments after the cursor (oldest or
        newest first), whether more follow, the thread's count and the page's
        ETag; without bodies, all but the JSON."""
        keys = self.keys(site_id)
        start = "+" if newest else "-"
        result = await self._scripts.thread_page(
            ThreadPageKeys(keys.thread(thread), keys.thread_public(thread)),
            ThreadPageArgs("(" + after if after else start, limit, int(newest), int(bodies)),
        )
        more, total, count = bool(result[0]), int(result[1]), int(result[2])
        ids = result[3 : 3 + count]
        # A field can vanish between ZRANGE and HMGET only if the script is
        # broken; skipping holes keeps one bad entry from failing the page.
        items = [item for item in result[3 + count :] if item]
        return ThreadPage(items, more, total, page_etag(ids, more, total))
