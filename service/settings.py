"""Configuration: defaults in config/default.toml, a file named by LOIBINH_CONFIG
over them, environment variables (LOIBINH_*, nested with __) over both.

Every model forbids unknown keys so that a typo stops start-up with the key's
name instead of being silently ignored.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# The defaults ship inside the package (service/defaults is the repository's
# config/ folder, linked), so an installed wheel finds them as a checkout does.
DEFAULTS = Path(str(resources.files("service") / "defaults"))
DEFAULT_CONFIG = DEFAULTS / "default.toml"
# Refused outside development mode: it is published in this repository.
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_LENGTH = 32

SITE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ORIGIN = re.compile(r"^https?://[^/\s?#]+$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(Strict):
    """A GCRA limit: `limit` events per `period` seconds, `burst` of them at once."""

    # Events allowed per `period`.
    limit: Annotated[int, Field(ge=1, le=1_000_000)]
    # The period, in seconds.
    period: Annotated[float, Field(gt=0, le=31 * 86400)]
    # Events allowed at once; unset: `limit`.
    burst: Annotated[int | None, Field(ge=1, le=1_000_000)] = None

    @property
    def burst_size(self) -> int:
        return self.burst if self.burst is not None else self.limit

    @property
    def emission_ms(self) -> int:
        """Milliseconds one event costs: the GCRA emission interval."""
        return max(1, round(self.period * 1000 / self.limit))


class RoutePolicies(Strict):
    """The limits of one route, each on one dimension: the client's
    (pseudonymised) address, the author's email, the thread, the whole site.
    Every one that is set is charged, in the route's one script."""

    # Per client: its pseudonymised address (IPv6 by its prefix).
    ip: RateLimit | None = None
    # Per author's email (submissions only).
    email: RateLimit | None = None
    # Per thread.
    thread: RateLimit | None = None
    # Everyone on the site together.
    site: RateLimit | None = None

    @model_validator(mode="after")
    def _some(self) -> RoutePolicies:
        if not any((self.ip, self.email, self.thread, self.site)):
            raise ValueError("a route needs at least one limit")
        return self


class SiteRateLimits(Strict):
    # Limits on submitting comments.
    submit: RoutePolicies = RoutePolicies(
        ip=RateLimit(limit=5, period=60), email=RateLimit(limit=3, period=60)
    )
    # Limits on issuing captchas (`ip` and `site` only).
    captcha: RoutePolicies = RoutePolicies(ip=RateLimit(limit=30, period=60))
    # Limits on readers' reports (no `email`).
    report: RoutePolicies = RoutePolicies(ip=RateLimit(limit=10, period=3600))

    @model_validator(mode="after")
    def _dimensions(self) -> SiteRateLimits:
        # Issuing a captcha knows no email or thread; a report knows no email.
        if self.captcha.email or self.captcha.thread:
            raise ValueError("captcha limits take ip and site only")
        if self.report.email:
            raise ValueError("report limits take ip, thread and site only")
        return self


WebhookEvent = Literal[
    "comment.submitted", "comment.approved", "comment.rejected", "comment.reported"
]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = (
    "comment.submitted",
    "comment.approved",
    "comment.rejected",
    "comment.reported",
)


class Webhook(Strict):
    """A receiver of the site's comment events, signed with its own secret."""

    # The webhook's name, unique within the site.
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    # Where deliveries are POSTed.
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")]
    # Key of the `Loibinh-Signature` HMAC, 16 characters or more.
    secret: SecretStr
    # Events delivered.
    events: list[WebhookEvent] = list(WEBHOOK_EVENTS)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("at least 16 characters")
        return value


class AbuseRules(Strict):
    """Auto-moderation of a site: the score at which a comment is held for a
    moderator, filed as spam, or rejected, and words of its own."""

    # Score at which a comment waits for a moderator, whatever the mode.
    hold_at: Annotated[float, Field(gt=0)] = 3.0
    # Score at which a comment is filed as spam.
    spam_at: Annotated[float, Field(gt=0)] = 8.0
    # Score at which a comment is rejected.
    reject_at: Annotated[float, Field(gt=0)] = 10.0
    # Added to config/words/banned.txt and suspect.txt (or instead of them).
    banned_words: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    # Words that hold a comment, added to `config/words/suspect.txt` (or instead of it).
    suspect_words: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    # Phrases in which a banned or suspect word is innocent (config/words/allowed.txt).
    allowed_words: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    # Use the lists of `config/words/`.
    default_words: bool = True
    # A form posted sooner than this after its captcha was issued is held:
    # nobody reads a challenge and writes a comment that fast.
    min_fill_seconds: Annotated[float, Field(ge=0, le=600)] = 3.0
    # How long a form token (issued with the captcha) stays good; older ones
    # are held, since whether they were used is no longer remembered.
    form_token_max_age_seconds: Annotated[int, Field(ge=60, le=7 * 86_400)] = 6 * 3600
    # How far back a comment is compared with the site's earlier ones for
    # (near-)duplicates; 0 turns the check off.
    duplicate_window_seconds: Annotated[int, Field(ge=0, le=30 * 86_400)] = 86_400

    @model_validator(mode="after")
    def _order(self) -> AbuseRules:
        if not self.hold_at <= self.spam_at <= self.reject_at:
            raise ValueError("hold_at <= spam_at <= reject_at is required")
        return self


class ModelRules(Strict):
    """The learned screen of a site: a logistic regression over the text,
    from the base model and the site's own moderators' decisions, whose
    probability is one more signal beside the rules ([The learned
    model](screening.md#the-learned-model))."""

    # Score comments with the learned model as well as the rules: its probability and reasons
    # are shown to moderators and sort the queue.
    enabled: bool = True
    # Let the model hold comments by itself. Off by default: on the newest text written blind
    # (heldout-13 to -16) it lifted the abuse held from 69-80 % to 96-99 %, but the clean
    # comments held from 1.2-2.7 % to 1.5-3.3 % at this threshold; a site turns it on once its
    # moderators trust the model's reasons, with hold_at 0.75 and release_below 0.1
    # ([Choosing the thresholds](screening.md#choosing-the-thresholds)).
    holds: bool = False
    # Probability of abuse at which the model names its reasons and, if it `holds`, holds the
    # comment for a moderator: it lifts the rules' score to `abuse.hold_at`.
    hold_at: Annotated[float, Field(gt=0, le=1)] = 0.7
    # The model holds or releases no comment whose body is shorter than this (characters): a
    # few words give its n-grams too little to go on, and the rules alone judge them. On the
    # newest corpora, replayed with a base that had not read them, the model alone held 7
    # short clean comments (a word, an emoji, a question) for each short abusive one the rules
    # missed.
    min_length: Annotated[int, Field(ge=0, le=20_000)] = 30
    # Probability at which the model alone files a comment as spam, lifting the score to
    # `abuse.spam_at`; unset: the model alone never files spam or rejects.
    spam_at: Annotated[float, Field(gt=0, le=1)] | None = None
    # Probability under which the model, if it `holds`, releases a comment that the rules
    # would only hold (not file as spam or reject), and only for its words: it lowers their
    # score to just under `abuse.hold_at`, and the site's memory (a first-time author's link,
    # a duplicate) still counts on top. Unset: the model never lowers what the rules found.
    # On six sets judged by rules never tuned on them, 0.1 released more than a quarter of the
    # clean comments held for a tenth of a point of the abuse
    # ([Letting the model release](screening.md#letting-the-model-release)).
    release_below: Annotated[float, Field(gt=0, lt=1)] | None = None
    # Learn from the moderators' decisions; false freezes the model as it is.
    learn: bool = True
    # How many of the features that raised the probability most are named in the reasons
    # (`model+:<feature>`).
    explain: Annotated[int, Field(ge=0, le=10)] = 3

    @model_validator(mode="after")
    def _order(self) -> ModelRules:
        if self.spam_at is not None and self.spam_at < self.hold_at:
            raise ValueError("hold_at <= spam_at is required")
        if self.release_below is not None and self.release_below >= self.hold_at:
            raise ValueError("release_below < hold_at is required")
        return self


CaptchaProvider = Literal["image", "pow", "turnstile", "hcaptcha", "recaptcha-v2", "recaptcha-v3"]
THIRD_PARTY: tuple[CaptchaProvider, ...] = ("turnstile", "hcaptcha", "recaptcha-v2", "recaptcha-v3")
# Each provider's documented siteverify endpoint.
VERIFY_URLS: dict[CaptchaProvider, str] = {
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    "hcaptcha": "https://api.hcaptcha.com/siteverify",
    "recaptcha-v2": "https://www.google.com/recaptcha/api/siteverify",
    "recaptcha-v3": "https://www.google.com/recaptcha/api/siteverify",
}


def secret_from_file(data: Any, secret: str, file: str) -> Any:
    """Raw settings with `secret` read from the file `file` names, if it
    names one: secrets stay out of configuration files and the environment."""
    if isinstance(data, dict) and data.get(file):
        path = Path(data[file])
        try:
            data = {**data, secret: path.read_text(encoding="utf-8").strip()}
        except OSError as exc:
            raise ValueError(f"{file}: cannot read {path}: {exc}") from None
    return data


class PowSettings(Strict):
    """ALTCHA proof of work: the answer is a number in [0, maxnumber], found
    by hashing on average maxnumber / 2 times in the reader's browser."""

    # Difficulty: the answer is a number in [0, maxnumber].
    maxnumber: Annotated[int, Field(ge=1000, le=100_000_000)] = 100_000
    # The harder challenge an escalated client gets when the site escalates to pow.
    escalated_maxnumber: Annotated[int, Field(ge=1000, le=100_000_000)] = 1_000_000
    # A challenge's lifetime, carried in its signed salt.
    expires_seconds: Annotated[int, Field(ge=10, le=86400)] = 600

    @model_validator(mode="after")
    def _harder(self) -> PowSettings:
        if self.escalated_maxnumber <= self.maxnumber:
            raise ValueError("escalated_maxnumber must exceed maxnumber")
        return self


class SiteCaptcha(Strict):
    """How a site's captcha provider is set up. The secret of a third-party
    provider never sits in a configuration file in clear: it comes from the
    environment (LOIBINH_SITES__<SITE>__CAPTCHA__SECRET) or from secret_file."""

    # The proof of work's difficulty and lifetime.
    pow: PowSettings = PowSettings()
    # The third party's public site key.
    site_key: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    # The third party's secret: only from the environment (`LOIBINH_SITES__<SITE>__CAPTCHA__SECRET`)
    # or `secret_file`; in a TOML file it stops start-up.
    secret: SecretStr = SecretStr("")
    # A file holding the third party's secret.
    secret_file: Path | None = None
    # None: the provider's documented siteverify URL (VERIFY_URLS).
    verify_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] | None = None
    # Bounds the whole check, retries included; past it the check fails closed (503).
    timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 2.0
    # The hostnames a provider may say the challenge was solved on. None: the
    # hosts of the site's allowed origins; []: not checked.
    hostnames: list[Annotated[str, Field(min_length=1, max_length=253)]] | None = None
    # reCAPTCHA v3: the lowest score accepted and the action the page names.
    # Turnstile also reports an action: checked when set.
    score_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    # reCAPTCHA v3: the action the page names and the provider must report (unset: `comment`);
    # Turnstile: checked when set.
    action: Annotated[str, Field(pattern=r"^[A-Za-z0-9_/]{1,100}$")] | None = None
    # Escalation: after escalate_after failed captcha attempts from one
    # client within the window, or a submission of theirs filed as spam or
    # rejected by the abuse checks, the client must answer the stronger
    # challenge: an image, or a harder proof of work. 0 turns it off.
    escalate_after: Annotated[int, Field(ge=0, le=1000)] = 3
    # How long failures are counted, and how long an escalation lasts.
    escalate_window_seconds: Annotated[int, Field(ge=10, le=7 * 86400)] = 3600
    # The stronger challenge: an image, or (pow sites only) a harder proof of work.
    escalate_to: Literal["image", "pow"] = "image"
    # A comment the screening files as spam or rejects escalates its sender.
    escalate_on_abuse: bool = True

    @model_validator(mode="before")
    @classmethod
    def _secret_from_file(cls, data: Any) -> Any:
        return secret_from_file(data, "secret", "secret_file")


# The outbox target of the mail stage's own receiver (service/mail/planner.py):
# it follows the site's comment events as a webhook would, in the same atomic
# call. A webhook's name cannot start with "~", so it never collides with one.
MAIL_TARGET = "~mail"
MAIL_EVENTS: tuple[WebhookEvent, ...] = ("comment.submitted", "comment.approved")


class SmtpServer(Strict):
    """The site's SMTP server, through which reply notifications go. The
    password never sits in a configuration file in clear: it comes from the
    environment (LOIBINH_SITES__<SITE>__MAIL__SMTP__PASSWORD) or password_file."""

    # The server's host name.
    host: Annotated[str, Field(min_length=1, max_length=253)]
    # Its port: 587 for STARTTLS, 465 for TLS from the start, 25 inside a trusted network.
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    # `starttls`: upgrade the connection (port 587); `tls`: TLS from the start (port 465);
    # `none`: plain text, only to a relay on the same host or network.
    tls: Literal["starttls", "tls", "none"] = "starttls"
    # The login, if the server wants one.
    username: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    # Its password: only from the environment or `password_file`; a TOML file may not hold it.
    password: SecretStr = SecretStr("")
    # A file holding the password.
    password_file: Path | None = None
    # Time allowed for one message, connection included.
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 20.0

    @model_validator(mode="before")
    @classmethod
    def _password_from_file(cls, data: Any) -> Any:
        return secret_from_file(data, "password", "password_file")


class SiteMail(Strict):
    """Reply notifications ([Reply emails](mail.md)): an author who asks is
    told by email when someone replies to their comment, after confirming
    their address once."""

    # The sender, as readers see it: `Tin Tức <binh-luan@tintuc.example.vn>`.
    sender: Annotated[str, Field(min_length=3, max_length=320)]
    # The public address of this loibinh service, for the confirm and unsubscribe links.
    public_url: Annotated[str, Field(pattern=r"^https?://[^\s?#]+$")]
    # The site's name in messages; unset: the sender's display name or address.
    site_name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    # How long a confirmation link stays good; a reader who asks again after it
    # is sent a new one.
    confirm_hours: Annotated[int, Field(ge=1, le=30 * 24)] = 72
    # The server the messages go through.
    smtp: SmtpServer


SigningAlgorithm = Literal["HS256", "RS256", "ES256"]


class SiteIdentity(Strict):
    """Sign-in tokens from the site's own login system ([Sign-in tokens](identity.md)):
    a JWT signed with a shared secret (HS256) or with the keys the login system
    publishes as a JWKS (RS256, ES256). A reader who sends a valid one skips the
    captcha, and their comment shows as verified."""

    # The algorithms accepted: HS256 needs `secret_file` (or the secret from the
    # environment), RS256 and ES256 need `jwks_url`. A token of any other is refused.
    algorithms: Annotated[list[SigningAlgorithm], Field(min_length=1)]
    # The HS256 shared secret: only from the environment
    # (`LOIBINH_SITES__<SITE>__IDENTITY__SECRET`) or `secret_file`; a TOML file may not hold it.
    secret: SecretStr = SecretStr("")
    # A file holding the HS256 shared secret (32 bytes or more).
    secret_file: Path | None = None
    # Where the login system publishes its public keys (RS256, ES256).
    jwks_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] | None = None
    # Longest time fetched keys are used before they are fetched again (a shorter
    # `Cache-Control: max-age` of the JWKS answer wins).
    jwks_max_age_seconds: Annotated[int, Field(ge=10, le=7 * 86_400)] = 3600
    # A token naming a key id the cached set lacks fetches the set again, at most
    # this often: a stream of forged key ids cannot make loibinh hammer the login system.
    jwks_min_refetch_seconds: Annotated[int, Field(ge=1, le=3600)] = 60
    # Time allowed for one JWKS fetch.
    jwks_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 2.0
    # The `iss` every token must carry.
    issuer: Annotated[str, Field(min_length=1, max_length=500)]
    # The `aud` every token must carry (one of its values).
    audience: Annotated[str, Field(min_length=1, max_length=500)]
    # Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    leeway_seconds: Annotated[int, Field(ge=0, le=600)] = 30
    # Tokens must carry `exp` no further ahead than this: a token that never
    # expires, or lives for months, is refused.
    max_lifetime_seconds: Annotated[int, Field(ge=60, le=30 * 86_400)] = 86_400
    # The claim that names the reader, shown on the comment.
    name_claim: Annotated[str, Field(min_length=1, max_length=100)] = "name"
    # The claim holding the reader's email, for reply notifications and moderators;
    # unset: tokens carry none.
    email_claim: Annotated[str, Field(min_length=1, max_length=100)] | None = "email"
    # `trusted`: a verified reader's comment is published at once (the screening can
    # still hold it); `screened`: it goes through the site's moderation mode like any other.
    trust: Literal["trusted", "screened"] = "screened"

    @model_validator(mode="before")
    @classmethod
    def _secret_from_file(cls, data: Any) -> Any:
        return secret_from_file(data, "secret", "secret_file")

    @model_validator(mode="after")
    def _keys(self) -> SiteIdentity:
        if "HS256" in self.algorithms and len(self.secret.get_secret_value()) < 32:
            raise ValueError(
                "secret: HS256 needs a shared secret of 32 characters or more, from "
                "LOIBINH_SITES__<SITE>__IDENTITY__SECRET or identity.secret_file"
            )
        if self.uses_jwks and not self.jwks_url:
            raise ValueError("jwks_url: required by RS256 and ES256")
        return self

    @property
    def uses_jwks(self) -> bool:
        """Whether tokens are checked with published keys (RS256, ES256)."""
        return bool({"RS256", "ES256"} & set(self.algorithms))


class Site(Strict):
    # Origins such as `https://news.example.vn` whose pages may call the public API from a browser
    # (CORS) and be a form's `return_to`.
    allowed_origins: list[str] = []
    # `pre`: every comment waits for a moderator; `post`: published at once, still reviewed;
    # `first-comment`: held until one comment of the same email is approved.
    moderation: Literal["pre", "post", "first-comment"] = "pre"
    # Language of the widget, the form page and the spoken captcha.
    locale: Literal["vi", "en"] = "vi"
    # The article of a thread, as an http(s) URL template with `{thread}` in it, e.g.
    # `https://news.example.vn/a/{thread}`: the form page and the dashboard link to it.
    thread_url: str | None = None
    # See [Captcha providers](captcha.md#captcha-providers).
    captcha_provider: CaptchaProvider = "image"
    # The captcha provider's settings and escalation.
    captcha: SiteCaptcha = SiteCaptcha()
    # Limits per route and dimension: [Rate limits](#rate-limits).
    rate_limits: SiteRateLimits = SiteRateLimits()
    # Longest author name, in characters.
    name_max_length: Annotated[int, Field(ge=1, le=80)] = 80
    # Longest comment, in characters.
    body_max_length: Annotated[int, Field(ge=1, le=5000)] = 5000
    # What a banned author is told: "honest" answers 403 banned; "shadow"
    # answers 202 as usual and files the comment straight under rejected.
    ban_response: Literal["honest", "shadow"] = "honest"
    # Auto-moderation: see [Screening](screening.md).
    abuse: AbuseRules = AbuseRules()
    # The learned model: see [The learned model](screening.md#the-learned-model).
    model: ModelRules = ModelRules()
    # Distinct readers whose reports move a published comment to `reported`.
    reports_threshold: Annotated[int, Field(ge=1, le=1000)] = 3
    # Hide a comment from the public read once it is reported, until a moderator decides.
    hide_reported: bool = False
    # Receivers of the site's comment events: [Webhooks](moderation.md#webhooks).
    webhooks: list[Webhook] = []
    # Reasons moderators pick from in the dashboard (they may still type their own).
    moderation_reasons: list[Annotated[str, Field(min_length=1, max_length=500)]] = []
    # Sign-in tokens from the site's own login: [Sign-in tokens](identity.md). Unset: none
    # are accepted, and a submission carrying one is refused.
    identity: SiteIdentity | None = None
    # Reply notifications by email: [Reply emails](mail.md). Unset: none are offered.
    mail: SiteMail | None = None

    def webhook_targets(self, event: WebhookEvent) -> str:
        """The names of the webhooks subscribed to an event, as the scripts
        take them, and the mail stage's receiver where the site sends mail."""
        names = [hook.name for hook in self.webhooks if event in hook.events]
        if self.mail is not None and event in MAIL_EVENTS:
            names.append(MAIL_TARGET)
        return ",".join(names)

    @field_validator("webhooks")
    @classmethod
    def _unique_names(cls, value: list[Webhook]) -> list[Webhook]:
        names = [hook.name for hook in value]
        if len(set(names)) != len(names):
            raise ValueError("webhook names must be unique within a site")
        return value

    @field_validator("thread_url")
    @classmethod
    def _thread_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "{thread}" not in value:
            raise ValueError("must contain {thread}, where the thread id goes")
        parts = urlsplit(value.replace("{thread}", "t"))
        spaced = any(c.isspace() for c in value)
        if parts.scheme not in ("http", "https") or not parts.netloc or spaced:
            raise ValueError(
                "must be an http or https URL such as https://news.example.vn/a/{thread}"
            )
        return value

    def article_url(self, thread: str) -> str | None:
        """The thread's article, from `thread_url`."""
        if self.thread_url is None:
            return None
        return self.thread_url.replace("{thread}", quote(thread, safe=""))

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin like https://news.example.vn")
        return [origin.lower() for origin in value]

    @model_validator(mode="after")
    def _provider(self) -> Site:
        provider, captcha = self.captcha_provider, self.captcha
        if provider in THIRD_PARTY:
            if not captcha.site_key:
                raise ValueError(f"captcha.site_key: required by captcha_provider {provider!r}")
            if not captcha.secret.get_secret_value():
                raise ValueError(
                    f"captcha.secret: required by captcha_provider {provider!r}; set "
                    "LOIBINH_SITES__<SITE>__CAPTCHA__SECRET or captcha.secret_file"
                )
        return self

    @property
    def verify_url(self) -> str:
        return self.captcha.verify_url or VERIFY_URLS[self.captcha_provider]

    @property
    def captcha_hostnames(self) -> list[str]:
        if self.captcha.hostnames is not None:
            return self.captcha.hostnames
        return [origin.split("://", 1)[1].split(":", 1)[0] for origin in self.allowed_origins]

    @property
    def captcha_action(self) -> str | None:
        """The action the widget names and the provider must report back."""
        if self.captcha_provider == "recaptcha-v3":
            return self.captcha.action or "comment"
        return self.captcha.action if self.captcha_provider == "turnstile" else None

    @property
    def escalates_to(self) -> Literal["image", "pow"] | None:
        """The stronger challenge of an escalated client; None: no escalation."""
        if self.captcha_provider == "image" or self.captcha.escalate_after == 0:
            return None
        if self.captcha.escalate_to == "pow" and self.captcha_provider != "pow":
            return "image"  # a harder pow is stronger than a pow, not than a third party
        return self.captcha.escalate_to


class CaptchaSettings(Strict):
    # A challenge must be answered within this long of being issued.
    ttl_seconds: Annotated[int, Field(ge=30, le=86400)] = 600
    # Pre-rendered challenges kept per site.
    pool_size: Annotated[int, Field(ge=1, le=100_000)] = 300
    # Rendering starts when the pool falls below this.
    pool_low_water: Annotated[int, Field(ge=0, le=100_000)] = 150
    # Challenges rendered in one go.
    render_batch: Annotated[int, Field(ge=1, le=1000)] = 50
    # How often each worker looks at the pools.
    refill_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    # Processes rendering challenges, at nice +10.
    render_processes: Annotated[int, Field(ge=1, le=16)] = 1
    # Image width in pixels.
    width: Annotated[int, Field(ge=100, le=600)] = 200
    # Image height in pixels.
    height: Annotated[int, Field(ge=40, le=200)] = 70

    @model_validator(mode="after")
    def _water(self) -> CaptchaSettings:
        if self.pool_low_water > self.pool_size:
            raise ValueError("pool_low_water must not exceed pool_size")
        return self


class WebhookSettings(Strict):
    # Time allowed for one delivery's POST.
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    # Attempts before a delivery is kept as dead.
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 10
    # First retry delay, doubled at each attempt, with jitter.
    backoff_base_seconds: Annotated[float, Field(gt=0, le=3600)] = 2.0
    # Longest retry delay.
    backoff_max_seconds: Annotated[float, Field(gt=0, le=86400)] = 3600.0
    # A taken delivery is retried after this long if its worker dies.
    lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    # How often each worker looks for due deliveries.
    poll_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # How long a dead delivery is kept for admins to see and requeue: each new
    # dead one drops those older than this.
    dead_keep_seconds: Annotated[int, Field(ge=60, le=365 * 86400)] = 14 * 86400
    # Most dead deliveries kept per site: beyond it the oldest are dropped, so
    # a receiver that stays down cannot grow Redis without bound.
    dead_max: Annotated[int, Field(ge=1, le=100_000)] = 10_000


class MailSettings(Strict):
    # Attempts at a message before it is given up.
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    # First retry delay, doubled at each attempt, with jitter.
    backoff_base_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    # Longest retry delay.
    backoff_max_seconds: Annotated[float, Field(gt=0, le=86400)] = 3600.0
    # A taken message is retried after this long if its worker dies.
    lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 120.0
    # How often each worker looks for messages due.
    poll_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # How long a message given up is kept (it holds its recipient's address), in seconds.
    dead_keep_seconds: Annotated[int, Field(ge=60, le=90 * 86400)] = 7 * 86400
    # Most messages given up kept per site; the oldest go first.
    dead_max: Annotated[int, Field(ge=1, le=100_000)] = 1000


class NetworkSettings(Strict):
    # Proxies whose forwarding headers are believed (CIDR networks). Empty: the
    # socket peer is the client, whatever headers say.
    trusted_proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    # Readers on IPv6 are limited and banned by this prefix of their address.
    ipv6_prefix: Annotated[int, Field(ge=32, le=128)] = 64


class SignInSettings(Strict):
    # Failed moderation sign-ins (an unknown or revoked API key) a client may make in a window;
    # past them every sign-in of that client, right key or not, gets 429 `rate-limited` until
    # the window, which starts at the first failure, is over. IPv6 clients count by
    # `network.ipv6_prefix`.
    max_failures: Annotated[int, Field(ge=1, le=10_000)] = 10
    # Seconds a client's failed sign-ins are counted for.
    window_seconds: Annotated[float, Field(gt=0, le=86400)] = 600.0


RedisTopology = Literal["standalone", "sentinel", "cluster"]


class RedisSettings(Strict):
    """Where Redis is and how to reach it ([Redis](redis.md)). The password
    never sits in a configuration file in clear: it comes from the environment
    (`LOIBINH_REDIS__PASSWORD`) or from `password_file`."""

    # `standalone`: one Redis at `url`. `sentinel`: the master of `sentinel_master`, found by asking
    # `sentinels`, and found again after a failover. `cluster`: a Redis Cluster, discovered from
    # `url` and `cluster_nodes`; each site's keys live on one shard.
    topology: RedisTopology = "standalone"
    # `redis://`, `rediss://` (TLS) or `unix://`. With `sentinel` only its scheme (TLS or not) and
    # database count; with `cluster` it names one node to discover the others from.
    url: str = "redis://127.0.0.1:6379/0"
    # `cluster`: more nodes (`host:port`) to discover the cluster from, should the one in `url` be
    # down at start-up.
    cluster_nodes: list[Annotated[str, Field(pattern=r"^[^\s:]+:[0-9]{1,5}$")]] = []
    # `sentinel`: the sentinels, `host:port` each; three or more on separate machines.
    sentinels: list[Annotated[str, Field(pattern=r"^[^\s:]+:[0-9]{1,5}$")]] = []
    # `sentinel`: the name the sentinels monitor the master under (`sentinel monitor <name> ...`).
    sentinel_master: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "mymaster"
    # The ACL user loibinh logs in as (unset: the URL's, or `default`).
    username: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    # A file holding the ACL user name; it wins over `username`.
    username_file: Path | None = None
    # The ACL user's password: only from the environment (`LOIBINH_REDIS__PASSWORD`) or
    # `password_file`, like every other secret.
    password: SecretStr = SecretStr("")
    # A file holding the Redis password; it wins over `password`.
    password_file: Path | None = None
    # `sentinel`: the sentinels' own password (`requirepass` in sentinel.conf), if they have one.
    sentinel_password: SecretStr = SecretStr("")
    # A file holding the sentinels' password.
    sentinel_password_file: Path | None = None
    # `rediss://`: a PEM file of the certificate authorities that sign the servers' certificates
    # (unset: the system's).
    tls_ca_file: Path | None = None
    # Seconds to open a connection: a dead Redis costs a request at most this long before its 503.
    connect_timeout: Annotated[float, Field(gt=0, le=30)] = 0.5
    # Seconds to wait for any answer; also bounds the accept script's deadline.
    timeout: Annotated[float, Field(gt=0, le=30)] = 0.5
    # Connections in each worker's pool (per node on a cluster).
    max_connections: Annotated[int, Field(ge=1, le=10_000)] = 256
    # Every key starts with it, then the site's hash tag: `lb:{site}:...`.
    key_prefix: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,20}$")] = "lb"
    # What a 202 means. 0: the master has the comment (and its append-only file, as configured).
    # N: at least N replicas have acknowledged it too (`WAIT` after the accept script), so a
    # failover cannot lose it; past `wait_timeout` the answer is 503 `not-replicated` and the
    # client retries with the same Idempotency-Key ([What a 202 means](redis.md#what-a-202-means)).
    wait_replicas: Annotated[int, Field(ge=0, le=16)] = 0
    # Seconds a 202 waits for `wait_replicas` acknowledgements before answering 503.
    wait_timeout: Annotated[float, Field(gt=0, le=30)] = 0.5

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        data = secret_from_file(data, "password", "password_file")
        data = secret_from_file(data, "username", "username_file")
        return secret_from_file(data, "sentinel_password", "sentinel_password_file")

    @model_validator(mode="after")
    def _topology(self) -> RedisSettings:
        scheme = self.url.split("://", 1)[0]
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError("url: must start with redis://, rediss:// or unix://")
        if self.topology == "sentinel" and not self.sentinels:
            raise ValueError("sentinels: topology 'sentinel' needs at least one host:port")
        if self.topology == "cluster" and scheme == "unix":
            raise ValueError("url: a cluster is reached over TCP (redis:// or rediss://)")
        if self.tls_ca_file is not None and scheme != "rediss":
            raise ValueError("tls_ca_file: only used with a rediss:// url")
        return self

    @property
    def tls(self) -> bool:
        return self.url.startswith("rediss://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOIBINH_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    # `development` falls back to a published secret when none is given; `production` refuses an
    # empty, short or published secret.
    mode: Literal["development", "production"] = "production"
    # Address to listen on (the container image sets `0.0.0.0`).
    host: str = "127.0.0.1"
    # Port to listen on; `loibinh serve --port` overrides it.
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    # Worker processes sharing the port with `SO_REUSEPORT`; `loibinh serve --workers N` overrides
    # it ([Running several workers](operations.md#running-several-workers)).
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    # The root of every keyed hash, 32 characters or more. Prefer `LOIBINH_SECRET_KEY` or
    # `secret_key_file` to writing it in a file.
    secret_key: SecretStr = SecretStr("")
    # A file holding the secret; it wins over `secret_key`.
    secret_key_file: Path | None = None
    # Largest request body accepted; above it, 413 `payload-too-large`.
    max_body_bytes: Annotated[int, Field(ge=1024, le=10 * 1024 * 1024)] = 64 * 1024
    # Largest file the admin import route takes (`POST .../moderation/imports`); above it, 413
    # `payload-too-large`. `loibinh import` reads files of any size.
    import_max_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024 * 1024)] = 32 * 1024 * 1024
    # `Retry-After` sent with 503 `unavailable`.
    retry_after_seconds: Annotated[int, Field(ge=1, le=3600)] = 2
    # `Cache-Control: max-age` of a thread's public comments.
    public_cache_seconds: Annotated[int, Field(ge=0, le=86400)] = 10
    # How long each worker answers a thread's read (200 or 304) from its own copy, without Redis;
    # 0 turns the copy off. A change made through a worker shows there at once, through another
    # within this time. At most `public_cache_seconds`: a longer value is cut to it
    # ([A CDN in front](operations.md#a-cdn-in-front-of-the-public-read)).
    public_revalidate_seconds: Annotated[float, Field(ge=0, le=86400)] = 1.0
    # Level of the service's log.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # `text` for people, `json` for a log collector: one JSON object a line, with the request id
    # where there is one ([Logs](operations.md#logs)).
    log_format: Literal["text", "json"] = "text"
    # A log line per request answered (method, path, status, duration, request id), in the
    # `loibinh.access` logger.
    access_log: bool = False
    # Seconds between SIGTERM and closing the listening socket, while `/readyz` already answers
    # 503 so that load balancers stop sending; requests in flight then get `shutdown_seconds` more.
    drain_seconds: Annotated[float, Field(ge=0, le=300)] = 0.0
    # Seconds that requests in flight get to finish once the socket is closed.
    shutdown_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    # Serve `/metrics` on this port of `metrics_host` instead of the service's own port (where it
    # then answers 404). Unset: `/metrics` is on the service's port.
    metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    # The address `metrics_port` listens on: loopback keeps it private to the host or pod.
    metrics_host: str = "127.0.0.1"
    # The Redis connection.
    redis: RedisSettings = RedisSettings()
    # The pools of pre-rendered image challenges, for every site.
    captcha: CaptchaSettings = CaptchaSettings()
    # How webhook deliveries are made, for every site.
    webhooks: WebhookSettings = WebhookSettings()
    # How reply notifications are sent, for every site that sends them.
    mail: MailSettings = MailSettings()
    # Who the client is: trusted proxies and IPv6 prefixes.
    network: NetworkSettings = NetworkSettings()
    # How many wrong API keys one client may try.
    signin: SignInSettings = SignInSettings()
    # One table per site, `[sites.<id>]`; the id is lower-case letters, digits and `-` and appears
    # in every URL. `config/default.toml` defines the demo site.
    sites: dict[str, Site] = {}

    @field_validator("sites")
    @classmethod
    def _site_ids(cls, value: dict[str, Site]) -> dict[str, Site]:
        for site_id in value:
            if not SITE_ID.match(site_id):
                raise ValueError(
                    f"site id {site_id!r} must be lower-case letters, digits and '-', "
                    "at most 63 characters"
                )
        return value

    @model_validator(mode="before")
    @classmethod
    def _secret_from_file(cls, data: Any) -> Any:
        return secret_from_file(data, "secret_key", "secret_key_file")

    @model_validator(mode="after")
    def _secret_strength(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.mode == "development":
            return self
        if not secret or secret == DEVELOPMENT_SECRET:
            raise ValueError(
                "secret_key: set LOIBINH_SECRET_KEY or LOIBINH_SECRET_KEY_FILE; "
                "an empty or development secret is refused outside development mode"
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"secret_key: at least {MIN_SECRET_LENGTH} characters are required")
        return self

    @property
    def read_cache_seconds(self) -> float:
        """A worker's copy of a read is never staler than what the answer lets a CDN serve."""
        return min(self.public_revalidate_seconds, self.public_cache_seconds)

    @property
    def secret(self) -> str:
        """The HMAC secret; development mode falls back to a published one."""
        return self.secret_key.get_secret_value() or DEVELOPMENT_SECRET

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlFiles(settings_cls))


class TomlFiles(PydanticBaseSettingsSource):
    """config/default.toml, then the file named by LOIBINH_CONFIG over it.

    Tables merge key by key, except `sites`: an operator's file that names
    sites replaces the demo site instead of serving it beside their own.
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ is overridden; pydantic never asks per field

    def __call__(self) -> dict[str, Any]:
        override = os.environ.get("LOIBINH_CONFIG")
        if not DEFAULT_CONFIG.exists() and not override:
            # A package installed without its defaults would otherwise start
            # with no sites and answer every request 404, which is worse than not starting.
            raise ConfigError(
                f"{DEFAULT_CONFIG} is missing and LOIBINH_CONFIG is not set: "
                "reinstall the package or name a configuration file"
            )
        data = read_toml(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else {}
        _no_secrets_in(DEFAULT_CONFIG, data)
        if override:
            extra = read_toml(Path(override))
            _no_secrets_in(Path(override), extra)
            if "sites" in extra:
                data.pop("sites", None)
            data = deep_merge(data, extra)
        return data


def _no_secrets_in(path: Path, data: dict[str, Any]) -> None:
    """A captcha provider's secret or a Redis password in a configuration file
    would travel with every copy of it: only the environment or a secret file
    may hold one."""
    redis = data.get("redis")
    for secret in ("password", "sentinel_password"):
        if isinstance(redis, dict) and secret in redis:
            raise ConfigError(
                f"invalid configuration:\n  redis.{secret}: not allowed in {path}; set "
                f"LOIBINH_REDIS__{secret.upper()} or redis.{secret}_file"
            )
    sites = data.get("sites")
    if not isinstance(sites, dict):
        return
    for site_id, site in sites.items():
        mail = site.get("mail") if isinstance(site, dict) else None
        smtp = mail.get("smtp") if isinstance(mail, dict) else None
        if isinstance(smtp, dict) and "password" in smtp:
            raise ConfigError(
                f"invalid configuration:\n  sites.{site_id}.mail.smtp.password: not allowed in "
                f"{path}; set LOIBINH_SITES__{site_id.upper()}__MAIL__SMTP__PASSWORD "
                "or mail.smtp.password_file"
            )
        for table in ("captcha", "identity"):
            section = site.get(table) if isinstance(site, dict) else None
            if isinstance(section, dict) and "secret" in section:
                raise ConfigError(
                    f"invalid configuration:\n  sites.{site_id}.{table}.secret: not allowed in "
                    f"{path}; set LOIBINH_SITES__{site_id.upper()}__{table.upper()}__SECRET "
                    f"or {table}.secret_file"
                )


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# LOIBINH_* variables that are not settings: read by the scripts around the service.
_NOT_SETTINGS = {"CONFIG", "DEV_REDIS_PORT"}


def _unknown_environment() -> list[str]:
    """Misspelt variables would otherwise be ignored without a word."""
    fields = {name.upper() for name in Settings.model_fields}
    unknown = []
    for name in os.environ:
        if name.startswith("LOIBINH_"):
            top = name.removeprefix("LOIBINH_").split("__", 1)[0]
            if top not in fields and top not in _NOT_SETTINGS:
                unknown.append(f"  {name}: unknown setting")
    return sorted(unknown)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning every validation problem into one ConfigError
    whose message names each bad key."""
    unknown = _unknown_environment()
    if unknown:
        raise ConfigError("invalid configuration:\n" + "\n".join(unknown))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "configuration"
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            lines.append(f"  {where}: {message}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None
