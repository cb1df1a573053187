"""KEYS and ARGV of every Lua script, by name: one pair of typed structures
per script, whose fields are the script's named locals in the order it
unpacks them at its top. scripts.py flattens them into the positional lists
EVALSHA takes, so a call can only pass what the script reads, where it
reads it; tests/store/test_signatures.py holds the two sides to the same
names and positions, so a reordering fails a test, not production.

A last field typed `RateLimits` or a tuple is a tail: everything from its
position on (the rate limits' keys, or their count and pairs; a script's
repeated groups). A first field that is itself a structure is a site part:
its fields come first, and are the same on every call for one site (the
accept call's queues and configuration), so that scripts.py can send them
as bytes encoded once.

The structures are not frozen: they live for one call, and a frozen
dataclass sets each field through object.__setattr__, which made building
the accept call's 62 fields cost ten times as much.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.store.ratelimit import RateLimits

Text = str | bytes
Number = int


@dataclass(frozen=True, slots=True, eq=False)
class AcceptSiteKeys:
    """The accept call's keys that are the same on every call for one site,
    made once per site: scripts.py encodes them once and sends the bytes."""

    pending_queue: str
    captcha_live: str
    captcha_expiry: str
    trusted: str
    trusted_always: str
    approved_queue: str
    rejected_queue: str
    outbox_due: str
    outbox: str
    spam_queue: str
    strikes: str


@dataclass(slots=True)
class AcceptKeys:
    site_keys: AcceptSiteKeys
    comment: str
    idempotency: str
    parent: str
    thread_ids: str
    thread_public: str
    author_comments: str
    email_ban: str
    address_ban: str
    form_token_mark: str
    fingerprints: str
    fingerprints_before: str
    spent_mark: str
    captcha_failures: str
    limit_keys: RateLimits


@dataclass(frozen=True, slots=True, eq=False)
class AcceptSiteArgs:
    """The accept call's arguments that are the same on every call for one
    site (its configuration), made once per site, like AcceptSiteKeys."""

    idempotency_ttl_s: int
    ban_response: str
    webhook_targets: str
    site: str
    thresholds: str  # "hold spam reject"
    fingerprint_window_s: int
    weights: str  # "duplicate near strike first-link agreement"
    escalate_after: int  # failures that escalate (0: never)
    escalate_window_ms: int
    escalate_on_abuse: int  # 1 if a spam or reject verdict escalates


@dataclass(slots=True)
class AcceptArgs:
    site_args: AcceptSiteArgs
    id: str
    thread: str
    parent_id: str  # '' for a top-level comment
    name: str
    email: str
    body: str
    ip_hash: str
    email_hash: str
    captcha_id: str
    captcha_answer: str  # the answer's HMAC
    mode: str  # the site's moderation mode, or trusted (a signed-in reader)
    content_digest: str  # '' without an Idempotency-Key
    public_json: bytes
    created_ms: int
    deadline_ms: int  # in Redis time: later, the script stores nothing
    score: float  # of the text and the form token
    reasons: str  # comma-separated
    form_token_ttl_ms: int  # 0: no token to mark
    text_fingerprint: bytes  # screen.fingerprint, or b''
    links: int
    captcha_mode: str  # image, pow, strong-pow, token, spent, signed-in
    spent_ttl_ms: int
    model_probability: str  # the learned model's, or '' when the site's model is off
    user_id: str  # a signed-in reader's, or ''
    notify: int  # 1: the author asked to be emailed replies
    limit_args: RateLimits


@dataclass(slots=True)
class CaptchaGateKeys:
    captcha_failures: str
    limit_keys: RateLimits


@dataclass(slots=True)
class CaptchaGateArgs:
    escalate_after: int  # 0: never
    charge_escalated: int  # 1: its stronger challenge needs no other script
    limit_args: RateLimits


@dataclass(slots=True)
class CaptchaIssueKeys:
    pool: str
    captcha_live: str
    captcha_expiry: str
    limit_keys: RateLimits


@dataclass(slots=True)
class CaptchaIssueArgs:
    ttl_ms: int
    limit_args: RateLimits


@dataclass(slots=True)
class CaptchaStoreKeys:
    captcha_live: str
    captcha_expiry: str


@dataclass(slots=True)
class CaptchaStoreArgs:
    ttl_ms: int
    challenges: tuple[Text, ...]  # triples of id, answer HMAC, spoken clip ('' for none)


@dataclass(slots=True)
class CaptchaAudioKeys:
    captcha_live: str
    captcha_expiry: str


@dataclass(slots=True)
class CaptchaAudioArgs:
    challenge_id: str
    plays_allowed: int


@dataclass(slots=True)
class CaptchaFailureKeys:
    captcha_failures: str


@dataclass(slots=True)
class CaptchaFailureArgs:
    window_ms: int


@dataclass(slots=True)
class RatelimitPeekKeys:
    limit_keys: RateLimits


@dataclass(slots=True)
class RatelimitPeekArgs:
    limit_args: RateLimits


@dataclass(slots=True)
class ThreadPageKeys:
    thread_ids: str
    thread_public: str


@dataclass(slots=True)
class ThreadPageArgs:
    after: str  # exclusive bound: '-' (oldest first) or '+' (newest first) to start, else '(' + id
    limit: int
    newest: int  # 1: newest first
    with_bodies: int  # 1: the public JSON too; 0: the ids only (an ETag check)


@dataclass(slots=True)
class ClaimKeys:
    queue: str
    lease_expiries: str
    lease_owners: str
    audit: str


@dataclass(slots=True)
class ClaimArgs:
    key_id: str
    limit: int
    lease_ms: int
    moderator: str


@dataclass(slots=True)
class DecideKeys:
    pending_queue: str
    reported_queue: str
    approved_queue: str
    rejected_queue: str
    spam_queue: str
    lease_expiries: str
    lease_owners: str
    trusted: str
    trusted_always: str
    audit: str
    outbox_due: str
    outbox: str
    strikes: str
    training: str
    item_keys: tuple[str, ...]  # 4 per item: comment, thread ids, thread public, history


@dataclass(slots=True)
class DecideArgs:
    key_id: str
    moderator: str
    admin: int
    items: int
    approved_targets: str
    rejected_targets: str
    site: str
    delivery_base: str
    training_max: int
    item_args: tuple[str, ...]  # 4 per item: id, action, reason, flag ('trust', 'force' or '')


@dataclass(slots=True)
class ReportKeys:
    comment: str
    reporters: str
    thread_ids: str
    thread_public: str
    history: str
    pending_queue: str
    approved_queue: str
    reported_queue: str
    outbox_due: str
    outbox: str
    limit_keys: RateLimits


@dataclass(slots=True)
class ReportArgs:
    reporter_hash: str
    reason: str
    threshold: int
    hide: int  # 1: hidden until reviewed
    targets: str
    site: str
    comment_id: str
    delivery_id: str
    limit_args: RateLimits


@dataclass(slots=True)
class BanKeys:
    ban: str
    ban_records: str
    audit: str
    history: str  # of the comment it came from


@dataclass(slots=True)
class BanArgs:
    ban_id: str
    record: bytes
    ttl_ms: int  # 0: for ever
    key_id: str
    moderator: str
    reason: str
    comment_id: str  # or ''


@dataclass(slots=True)
class EraseKeys:
    author_comments: str
    trusted: str
    trusted_always: str
    pending_queue: str
    reported_queue: str
    approved_queue: str
    rejected_queue: str
    spam_queue: str
    lease_expiries: str
    lease_owners: str
    outbox: str
    outbox_due: str
    outbox_dead: str
    audit: str
    email_ban: str
    ban_records: str
    email_limit: str
    strikes: str
    model_labels: str
    # 5 per comment (comment, thread ids, thread public, history, reporters),
    # then the rate-limit keys and captcha failures of the comments' addresses
    comment_keys: tuple[str, ...]


@dataclass(slots=True)
class EraseArgs:
    email_hash: str
    key_id: str
    moderator: str
    comments: int
    deliveries: int
    bans: int
    ids: tuple[str, ...]  # the comment ids, then delivery ids, then ban ids


@dataclass(slots=True)
class OutboxTakeKeys:
    outbox_due: str
    outbox: str


@dataclass(slots=True)
class OutboxTakeArgs:
    limit: int
    lease_ms: int


@dataclass(slots=True)
class OutboxSettleKeys:
    outbox_due: str
    outbox: str
    outbox_dead: str


@dataclass(slots=True)
class OutboxSettleArgs:
    delivery_id: str
    outcome: str  # delivered, retry, dead, requeue
    delay_ms: int
    entry: Text
    dead_keep_ms: int
    dead_max: int


@dataclass(slots=True)
class OutboxRequeueKeys:
    outbox_due: str
    outbox: str
    outbox_dead: str


@dataclass(slots=True)
class OutboxRequeueArgs:
    limit: int
    ids: tuple[str, ...]  # none: the oldest dead, up to the limit


@dataclass(slots=True)
class ModelPublishKeys:
    model: str
    labels: str


@dataclass(slots=True)
class ModelPublishArgs:
    expected_version: int
    weights: bytes  # b"" when the batch taught nothing
    last_id: str
    learned: int
    updated_ms: int
    label_pairs: tuple[str, ...]  # comment id, label ("1" abusive, "0" clean), and so on


@dataclass(slots=True)
class ModelAdminKeys:
    model: str
    labels: str
    training: str
    excluded: str
    audit: str


@dataclass(slots=True)
class ModelAdminArgs:
    action: str  # reset, freeze, thaw, exclude, include
    subject: str  # the key id to exclude or include, else ''
    key_id: str
    moderator: str
    reason: str


@dataclass(slots=True)
class ImportKeys:
    import_map: str
    pending_queue: str
    reported_queue: str
    approved_queue: str
    rejected_queue: str
    spam_queue: str
    trusted: str
    strikes: str
    audit: str
    item_keys: tuple[str, ...]  # 6 per item


@dataclass(slots=True)
class ImportArgs:
    source: str  # the format imported from
    key_id: str
    moderator: str
    fingerprint_window_s: int
    items: int
    item_args: tuple[Text | int, ...]  # 14 per item


@dataclass(slots=True)
class UnbanKeys:
    ban: str
    ban_records: str
    audit: str


@dataclass(slots=True)
class UnbanArgs:
    ban_id: str
    key_id: str
    moderator: str
    reason: str


# The structures that are a site part when they are a structure's first field.
SITE_PARTS: tuple[type, ...] = (AcceptSiteKeys, AcceptSiteArgs)

# Each script's name (its .lua file) and the structures of its KEYS and ARGV.
SIGNATURES: dict[str, tuple[type, type]] = {
    "accept": (AcceptKeys, AcceptArgs),
    "captcha_issue": (CaptchaIssueKeys, CaptchaIssueArgs),
    "captcha_store": (CaptchaStoreKeys, CaptchaStoreArgs),
    "captcha_gate": (CaptchaGateKeys, CaptchaGateArgs),
    "captcha_failure": (CaptchaFailureKeys, CaptchaFailureArgs),
    "captcha_audio": (CaptchaAudioKeys, CaptchaAudioArgs),
    "ratelimit_peek": (RatelimitPeekKeys, RatelimitPeekArgs),
    "thread_page": (ThreadPageKeys, ThreadPageArgs),
    "claim": (ClaimKeys, ClaimArgs),
    "decide": (DecideKeys, DecideArgs),
    "report": (ReportKeys, ReportArgs),
    "ban": (BanKeys, BanArgs),
    "unban": (UnbanKeys, UnbanArgs),
    "erase": (EraseKeys, EraseArgs),
    "outbox_take": (OutboxTakeKeys, OutboxTakeArgs),
    "outbox_settle": (OutboxSettleKeys, OutboxSettleArgs),
    "outbox_requeue": (OutboxRequeueKeys, OutboxRequeueArgs),
    "model_publish": (ModelPublishKeys, ModelPublishArgs),
    "model_admin": (ModelAdminKeys, ModelAdminArgs),
    "import_batch": (ImportKeys, ImportArgs),
}
