"""Request and response bodies. The OpenAPI document is generated from these."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from service.text.clean import clean

THREAD_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
# Crockford base32, 26 characters: see ids.py.
COMMENT_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
CAPTCHA_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
COMMENT_ID = re.compile(COMMENT_ID_PATTERN)
CAPTCHA_ID = re.compile(CAPTCHA_ID_PATTERN)


# The contract's limits; a site may set lower ones (validation context).
_LIMITS = {"name_max_length": 80, "body_max_length": 5000}


def _bounded(value: str, info: ValidationInfo, limit_name: str, *, multiline: bool) -> str:
    value = clean(value, multiline=multiline)
    context = info.context
    limit = int(context.get(limit_name, _LIMITS[limit_name]) if context else _LIMITS[limit_name])
    if not 1 <= len(value) <= limit:
        raise ValueError(f"must be 1 to {limit} characters after trimming")
    return value


def _name(value: str, info: ValidationInfo) -> str:
    return _bounded(value, info, "name_max_length", multiline=False)


def _body(value: str, info: ValidationInfo) -> str:
    return _bounded(value, info, "body_max_length", multiline=True)


# A plain ASCII dot-atom local part, which email-validator accepts as it is.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*\Z")


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    """email-validator's verdict on a domain, remembered: readers' addresses
    share a few domains, and checking one is most of email-validator's cost."""
    return validate_email("a@" + domain, check_deliverability=False).domain


def _email(value: str) -> str:
    value = clean(value, multiline=False)
    local, at, domain = value.rpartition("@")
    try:
        # Syntax only: a DNS lookup would put the network on the accept path.
        if at and len(local) <= 64 and len(value) <= 254 and _PLAIN_LOCAL.match(local):
            return f"{local}@{_domain(domain)}"
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def _answer(value: str) -> str:
    # Readers type what they see: case and spaces do not matter.
    return "".join(value.split()).upper()


Name = Annotated[str, Field(max_length=1000), AfterValidator(_name)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Body = Annotated[str, Field(max_length=20_000), AfterValidator(_body)]
ThreadId = Annotated[str, Field(pattern=THREAD_PATTERN)]
CommentId = Annotated[str, Field(pattern=COMMENT_ID_PATTERN)]
CaptchaId = Annotated[str, Field(pattern=CAPTCHA_ID_PATTERN)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Author(Model):
    name: Name
    email: Email


class CaptchaAnswer(Model):
    id: CaptchaId
    answer: Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_answer)]


class PowAnswer(Model):
    pow: Annotated[str, Field(min_length=1, max_length=2048)] = Field(
        description="the ALTCHA widget's payload: base64 of its JSON solution"
    )


class TokenAnswer(Model):
    token: Annotated[str, Field(min_length=1, max_length=16_384)] = Field(
        description="the third-party provider's response token"
    )


# The tags naming each kind of answer in a validation error's location,
# which intake.field_errors leaves out so that errors name the field sent.
CAPTCHA_TAGS = ("image", "pow", "token")


def _captcha_kind(value: object) -> str:
    # A dict first: it is what every request brings, and a model class's
    # isinstance goes through pydantic's metaclass and ABCMeta.
    if isinstance(value, dict):
        return "pow" if "pow" in value else "token" if "token" in value else "image"
    if isinstance(value, PowAnswer):
        return "pow"
    if isinstance(value, TokenAnswer):
        return "token"
    return "image"


Captcha = Annotated[
    Annotated[CaptchaAnswer, Tag("image")]
    | Annotated[PowAnswer, Tag("pow")]
    | Annotated[TokenAnswer, Tag("token")],
    Discriminator(_captcha_kind),
]


# The validation context's entry for a reader signed in with a token (http/intake.py
# puts the Author their token names there): their submission carries no author and no captcha.
SIGNED_IN = "signed_in_author"
# The validation context's entry saying the site sends reply emails.
SENDS_MAIL = "sends_mail"


def _signed_in(info: ValidationInfo) -> Author | None:
    author = (info.context or {}).get(SIGNED_IN)
    return author if isinstance(author, Author) else None


class Submission(Model):
    """A reader's comment as the form sends it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "thread": "ca-mau-2022-08-12",
                    "parent_id": None,
                    "author": {"name": "Nguyễn Thị Thùy Dương", "email": "duong@example.vn"},
                    "body": "Bài viết rất hay.",
                    "captcha": {"id": "Jx3kQ9mW2pLr7vTa", "answer": "K7P2M"},
                    "form_token": "1733600000.3f9a2c.8d1e",
                }
            ]
        }
    )

    thread: ThreadId
    parent_id: CommentId | None = None
    author: Author = Field(
        description="who writes; left out by a reader signed in with a token "
        "(`Authorization: Bearer`), whose token names them"
    )
    body: Body
    captcha: Captcha | None = Field(
        default=None,
        validate_default=True,
        description="the answer to the challenge: an image's {id, answer}, a proof of "
        "work's {pow}, or a third-party provider's {token}; left out by a reader signed "
        "in with a token",
    )
    form_token: Annotated[str, Field(max_length=80)] | None = Field(
        default=None,
        description="the form_token that came with the captcha challenge; without it, or "
        "with one submitted too fast, the comment is more likely held",
    )
    website: Annotated[str, Field(max_length=1000)] = Field(
        default="",
        description="the honeypot: a field hidden from people, which only bots fill in; "
        "leave it empty",
    )

    notify: bool = Field(
        default=False,
        description="email the author when someone replies to this comment; the first "
        "time, a link sent to the address must confirm it (double opt-in). Only on sites "
        "that send mail",
    )

    @field_validator("notify")
    @classmethod
    def _notify_needs_mail(cls, value: bool, info: ValidationInfo) -> bool:
        if not value:
            return value
        if not (info.context or {}).get(SENDS_MAIL):
            raise PydanticCustomError("no_mail", "this site sends no reply emails")
        author = info.data.get("author")
        if isinstance(author, Author) and not author.email:
            raise PydanticCustomError(
                "no_email", "the sign-in token carries no email address to send replies to"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _author_of_token(cls, data: Any, info: ValidationInfo) -> Any:
        author = _signed_in(info)
        if author is not None and isinstance(data, dict) and "author" not in data:
            return {**data, "author": author}
        return data

    @field_validator("author", mode="before")
    @classmethod
    def _no_author_with_token(cls, value: Any, info: ValidationInfo) -> Any:
        if _signed_in(info) is not None and not isinstance(value, Author):
            raise PydanticCustomError(
                "signed_in", "leave it out with a sign-in token: the token names the author"
            )
        return value

    @field_validator("captcha")
    @classmethod
    def _captcha_unless_signed_in(
        cls, value: CaptchaAnswer | PowAnswer | TokenAnswer | None, info: ValidationInfo
    ) -> CaptchaAnswer | PowAnswer | TokenAnswer | None:
        signed_in = _signed_in(info) is not None
        if value is None and not signed_in:
            raise PydanticCustomError("missing", "Field required")
        if value is not None and signed_in:
            raise PydanticCustomError(
                "signed_in", "leave it out with a sign-in token: a signed-in reader answers none"
            )
        return value


class Accepted(Model):
    id: str
    status: Literal["pending", "approved"]


class ChallengeBase(Model):
    expires_in: int = Field(description="seconds")
    form_token: str = Field(description="send it back with the submission, once")


class ImageChallenge(ChallengeBase):
    kind: Literal["image"] = "image"
    id: str
    image: str = Field(description="data: URI of a PNG image")
    audio_url: str | None = Field(
        description="the spoken challenge (audio/wav, digits in the site's locale), which "
        "may be answered instead of the image's text; null when there is none"
    )


class PowParameters(Model):
    algorithm: Literal["SHA-256"]
    challenge: str
    maxnumber: int
    salt: str
    signature: str


class PowChallenge(ChallengeBase):
    kind: Literal["pow"] = "pow"
    pow: PowParameters = Field(description="an ALTCHA challenge, for the ALTCHA widget")


class ThirdPartyChallenge(ChallengeBase):
    kind: Literal["turnstile", "hcaptcha", "recaptcha-v2", "recaptcha-v3"]
    site_key: str
    action: str | None = Field(description="the action to name (reCAPTCHA v3), else null")


class Challenge(RootModel[ImageChallenge | PowChallenge | ThirdPartyChallenge]):
    """What to show for this challenge: `kind` may be stronger than the
    site's provider when the client has been escalated."""

    root: Annotated[
        ImageChallenge | PowChallenge | ThirdPartyChallenge, Field(discriminator="kind")
    ]


class PublicAuthor(Model):
    name: str
    verified: bool = Field(
        default=False,
        description="present, and true, when the author was signed in with the site's "
        "login (a sign-in token): the name is the one the site knows them by",
    )


class PublicComment(Model):
    id: str
    parent_id: str | None
    author: PublicAuthor
    body_html: str
    created_at: str = Field(description="RFC 3339, UTC")


class ThreadPage(Model):
    comments: list[PublicComment]
    next: str | None = Field(description="cursor for the next page (`after`), null at the end")
    total: int = Field(description="approved comments in the whole thread, replies included")


class ThreadPath(Model):
    thread: ThreadId


class ThreadQuery(BaseModel):
    # Unknown query parameters (cache busters, trackers) are ignored, not refused.
    model_config = ConfigDict(extra="ignore", frozen=True)

    after: CommentId | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    # The widget's sorting; the cursor runs the same way.
    order: Literal["oldest", "newest"] = "oldest"


class FormPageQuery(BaseModel):
    """The form page's own parameters; the lb_* outcome of a post comes back here too."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    lang: Literal["vi", "en"] | None = None
    parent_id: CommentId | None = None
    lb_status: Literal["pending", "approved", "error"] | None = None
    lb_problem: str | None = None
    lb_fields: str | None = None
    lb_retry_after: str | None = None
    lb_id: str | None = None


class CaptchaConfig(Model):
    provider: Literal["image", "pow", "turnstile", "hcaptcha", "recaptcha-v2", "recaptcha-v3"]
    site_key: str | None = Field(description="the third-party provider's public site key")
    action: str | None = Field(description="the action the widget names (reCAPTCHA v3)")


class Limits(Model):
    name_max_length: int
    body_max_length: int


class CountsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    thread: Annotated[list[ThreadId], Field(min_length=1, max_length=100)] = Field(
        description="a thread id; repeat the parameter for up to 100 threads"
    )


class CommentCounts(Model):
    counts: dict[str, int] = Field(
        description="each thread asked for -> its published comments (0 for a thread "
        "with none, or unknown)"
    )


class SiteConfig(Model):
    captcha: CaptchaConfig
    locale: str
    limits: Limits
    moderation: Literal["pre", "post", "first-comment"]
    notify: bool = Field(
        default=False, description="the site sends reply emails: a submission may ask for them"
    )


class FieldProblem(Model):
    field: str
    message: str


class Problem(Model):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None
    request_id: str | None = Field(default=None, description="with 500 internal")


class Health(Model):
    status: Literal["ok", "unavailable", "draining"]
    checks: dict[str, str] = {}


# Moderation

State = Literal["pending", "reported", "approved", "rejected", "spam"]
STATES: tuple[State, ...] = ("pending", "reported", "approved", "rejected", "spam")


def _no_reason(value: object) -> object:
    """null is what a client sends for "no reason" as often as "": both are none."""
    return "" if value is None else value


Reason = Annotated[
    str,
    BeforeValidator(_no_reason),
    Field(max_length=500),
    AfterValidator(lambda v: clean(v, multiline=False)),
    WithJsonSchema({"type": ["string", "null"], "maxLength": 500}, mode="validation"),
]


class Paging(BaseModel):
    # Unknown query parameters are ignored, as on the public read.
    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: Annotated[int, Field(ge=1, le=100)] = 50


class QueueQuery(Paging):
    state: State = "pending"
    order: Literal["oldest", "newest", "abusive", "clean"] = Field(
        default="oldest",
        description="abusive: most likely abusive first by the learned model; clean: "
        "most likely clean first (both sort the 1,000 oldest of the state)",
    )
    after: CommentId | None = None


class Lease(Model):
    key_id: str
    until: str


class ModeratedAuthor(Model):
    name: str
    email: str = Field(description="empty for a signed-in reader whose token carries none")
    user_id: str | None = Field(
        default=None, description="the site login's user id of a signed-in reader, else null"
    )


class QueueItem(Model):
    id: str
    thread: str
    parent_id: str | None
    author: ModeratedAuthor
    body: str
    body_html: str
    created_at: str
    status: State
    published: bool
    score: float = Field(description="sum of the abuse checks' weights")
    reasons: list[str] = Field(description="reason codes of the abuse checks")
    model: float | None = Field(
        default=None,
        description="the learned model's probability that the comment is abusive, "
        "as it scored it on arrival (null: the site's model is off)",
    )
    reports: int
    lease: Lease | None


class QueuePage(Model):
    items: list[QueueItem]
    next: str | None
    counts: dict[str, int]
    model_hold_at: float | None = Field(
        default=None,
        description="the probability at which the site's learned model holds a comment "
        "(null: the model is off); below it, the model finds a comment clean",
    )


class ClaimRequest(Model):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"limit": 10, "lease_seconds": 300, "state": "pending"}]}
    )

    limit: Annotated[int, Field(ge=1, le=100)] = 10
    lease_seconds: Annotated[int, Field(ge=10, le=3600)] = 300
    state: Literal["pending", "reported"] = "pending"


class Claimed(Model):
    lease_until: str
    items: list[QueueItem]


Action = Literal["approve", "reject", "spam", "approve_and_trust", "reject_author"]


class Decision(Model):
    id: CommentId
    action: Action
    reason: Reason = ""


class DecisionsRequest(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decisions": [
                        {"id": "01JEKZ6Q5M3V8T7RX2N4PBWC9D", "action": "approve", "reason": None},
                        {
                            "id": "01JEKZ7A1B2C3D4E5F6G7H8J9K",
                            "action": "reject",
                            "reason": "Lạc đề",
                        },
                    ]
                }
            ]
        }
    )

    decisions: Annotated[list[Decision], Field(min_length=1, max_length=100)]


class DecisionResult(Model):
    id: str
    action: Action
    status: int = Field(description="200 done or unchanged, 404 no such comment, 409 conflict")
    outcome: str
    detail: str


class DecisionsResponse(Model):
    results: list[DecisionResult]


class HistoryEvent(Model):
    at: str
    key: str
    moderator: str
    action: str
    reason: str


class CommentDetail(QueueItem):
    history: list[HistoryEvent]


def _stream_id(value: str | None) -> str | None:
    """A Redis stream id, in its canonical form ("007-0" is "7-0"): two
    numbers of at most 64 bits each."""
    if value is None:
        return None
    parts = [int(part) for part in value.split("-")]
    if any(part >= 2**64 for part in parts):
        raise ValueError("not an audit entry id")
    return "-".join(map(str, parts))


class AuditQuery(Paging):
    moderator: str | None = Field(default=None, description="an API key id")
    comment: CommentId | None = None
    before: Annotated[str | None, Field(pattern=r"^\d+-\d+$"), AfterValidator(_stream_id)] = None


class AuditEntry(Model):
    id: str
    at: str
    key: str
    moderator: str
    action: str
    comment: str | None
    reason: str


class AuditPage(Model):
    entries: list[AuditEntry]
    next: str | None = Field(description="cursor for older entries (`before`)")


class BanRequest(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "spam@example.vn", "duration_seconds": 604800, "reason": "Quảng cáo"},
                {
                    "comment_id": "01JEKZ6Q5M3V8T7RX2N4PBWC9D",
                    "duration_seconds": None,
                    "reason": "",
                },
            ]
        }
    )

    email: Email | None = None
    user_id: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="ban a reader of the site's login by their user id (`sub`)"
    )
    comment_id: CommentId | None = Field(
        default=None, description="ban the pseudonymised address this comment came from"
    )
    duration_seconds: Annotated[int | None, Field(ge=60, le=10 * 365 * 86400)] = Field(
        default=None, description="null: for ever"
    )
    reason: Reason = ""

    @model_validator(mode="after")
    def _one_subject(self) -> BanRequest:
        if [self.email, self.user_id, self.comment_id].count(None) != 2:
            raise ValueError("give exactly one of email, user_id and comment_id")
        return self


class Ban(Model):
    id: str = Field(description="what DELETE .../bans/{ban} takes")
    kind: Literal["email", "user", "ip"]
    email: str | None
    user_id: str | None = None
    comment_id: str | None
    until: str | None
    reason: str
    created_at: str
    key: str


class BanList(Model):
    bans: list[Ban]


class ReportRequest(Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Quảng cáo"}]})

    reason: Annotated[
        str, Field(max_length=500), AfterValidator(lambda v: clean(v, multiline=True))
    ] = ""


class ReportReceived(Model):
    status: Literal["received"]


class ErasureRequest(Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "duong@example.vn"}]})

    email: Email | None = None
    user_id: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="erase a reader of the site's login by their user id (`sub`)"
    )

    @model_validator(mode="after")
    def _one_subject(self) -> ErasureRequest:
        if (self.email is None) == (self.user_id is None):
            raise ValueError("give exactly one of email and user_id")
        return self


class ErasureResult(Model):
    erased_comments: int


# A dead-letter page cursor: when the last one shown died (ms), a dot, its id.
DEAD_CURSOR_PATTERN = r"^\d{1,15}\.[A-Za-z0-9:._-]{1,300}$"


class DeadLettersQuery(Paging):
    before: Annotated[str | None, Field(pattern=DEAD_CURSOR_PATTERN)] = Field(
        default=None, description="cursor for older deliveries: the `next` of the last page"
    )


class DeadLetter(Model):
    id: str
    target: str
    event: str
    attempts: int
    last_error: str
    died_at: str = Field(description="when it was given up, RFC 3339, UTC")
    comment: str | None = Field(description="the id of the comment the event is about")


class DeadLetters(Model):
    deliveries: list[DeadLetter] = Field(description="newest first")
    total: int = Field(description="dead deliveries kept for the site")
    next: str | None = Field(description="cursor for older deliveries (`before`)")


class RequeueRequest(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ids": ["01JEKZ6Q5M3V8T7RX2N4PBWC9D:submitted:cms"]}, {"all": True}]
        }
    )

    ids: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=300)]],
            Field(min_length=1, max_length=1000),
        ]
        | None
    ) = Field(default=None, description="the deliveries to requeue")
    all: bool = Field(
        default=False, description="requeue the oldest dead deliveries, up to 1,000 a call"
    )

    @model_validator(mode="after")
    def _ids_or_all(self) -> RequeueRequest:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all: true")
        return self


class Requeued(Model):
    requeued: list[str] = Field(description="the ids requeued; those not dead are skipped")
    remaining: int = Field(description="dead deliveries left")


class UnbanQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    reason: Reason = ""


class Unbanned(Model):
    id: str
    status: Literal["lifted"]


ModelAction = Literal["reset", "freeze", "thaw", "exclude", "include"]


class ModelStatus(Model):
    """A site's learned model, as an admin sees it."""

    version: int = Field(description="0: the base model, untouched by this site")
    learned: int = Field(description="decisions learned since the last reset")
    frozen: bool = Field(description="learning is stopped: decisions are read, not learned")
    updated_at: str | None
    excluded_keys: list[str] = Field(description="API keys whose decisions are not learned")
    pending: int = Field(description="decisions waiting to be learned (counted up to 10,000)")


class ModelRequest(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"action": "exclude", "key_id": "k_3f9a2c", "reason": "nhiều quyết định sai"}
            ]
        }
    )

    action: ModelAction = Field(
        description="reset: back to the base model; freeze, thaw: stop or restart "
        "learning; exclude, include: a key's decisions out of training or back in"
    )
    key_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="the key to exclude or include"
    )
    reason: Reason = ""

    @model_validator(mode="after")
    def _key_for_exclusions(self) -> ModelRequest:
        if (self.action in ("exclude", "include")) != (self.key_id is not None):
            raise ValueError("key_id goes with exclude and include, and only with them")
        return self


ImportFormat = Literal["disqus", "wordpress", "isso", "loibinh"]


class ImportQuery(Model):
    format: ImportFormat = Field(description="what the body is: the source's export file")
    drop_removed: bool = Field(
        default=False,
        description="leave out spam and deleted comments instead of keeping them as such",
    )


class ImportReport(Model):
    """What an import did; a second run of the same file reports everything
    as already imported."""

    format: ImportFormat
    read: int = Field(description="comments read from the file")
    imported: int = Field(description="comments stored by this run")
    already_imported: int = Field(description="comments an earlier run stored, left as they are")
    dropped: int = Field(description="spam and deleted comments left out (drop_removed)")
    published: int = Field(description="of those imported, shown in their threads")
    queued: int = Field(description="of those imported, waiting for a moderator")
    removed: int = Field(description="of those imported, kept as rejected or spam")
    threads: int = Field(description="loibinh threads the file's comments went to")


class ExportedComment(Model):
    """One line of a site's export (JSON lines; docs/migration.md), which
    `loibinh import --format loibinh` reads back."""

    id: CommentId
    thread: ThreadId
    parent_id: CommentId | None
    author: ModeratedAuthor = Field(description="the email is '' when the source had none")
    body: str = Field(description="plain text, as the author wrote it")
    created_at: str = Field(description="RFC 3339, UTC")
    status: State
    published: bool = Field(description="shown in its thread")
    reasons: list[str] = Field(default_factory=list, description="why it was held or flagged")
    reports: int = 0


class SubjectAccessRequest(Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "duong@example.vn"}]})

    email: Email


class SubjectAccess(Model):
    """Everything the site holds of one email address (GDPR article 15): the
    other half of an erasure."""

    email: str
    comments: list[ExportedComment]
    bans: list[Ban]
    trusted: bool = Field(description="published at once in first-comment mode")
    trusted_always: bool = Field(description="a moderator chose to trust this author")
    strikes: int = Field(description="comments of theirs rejected or filed as spam")


class OverviewQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    days: Annotated[int, Field(ge=1, le=90)] = Field(
        default=14, description="the days to cover, today (UTC) included"
    )


class DayOutcomes(Model):
    date: str = Field(description="a UTC day, YYYY-MM-DD")
    approved: int
    rejected: int
    spam: int


class DecisionTimes(Model):
    decisions: int = Field(description="decisions timed")
    median_seconds: float | None = Field(description="from submission to decision")
    p90_seconds: float | None


class ModeratorThroughput(Model):
    key: str
    moderator: str
    decisions: int


class ReasonCount(Model):
    reason: str
    count: int


class Overview(Model):
    """What the moderators did over the last days, from the audit log."""

    days: list[DayOutcomes] = Field(description="oldest first, one per day")
    decision_times: DecisionTimes
    moderators: list[ModeratorThroughput] = Field(description="most decisions first")
    reasons: list[ReasonCount] = Field(description="the moderators' reasons, most used first")
    complete: bool = Field(
        description="false when the period held more audit entries than are read at once "
        "(the oldest days are then undercounted)"
    )


class ModerationSite(Model):
    """What the dashboard needs of a site."""

    locale: str
    moderation: Literal["pre", "post", "first-comment"]
    thread_url: str | None = Field(
        description="the URL of a thread's article, with {thread} where its id goes; null: none"
    )
    reasons: list[str] = Field(description="the site's canned reasons for decisions")
