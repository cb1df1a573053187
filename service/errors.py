"""Domain errors. They say what went wrong in the service's own terms and know
nothing of HTTP: problems.py is the one place that turns them into answers."""

from __future__ import annotations

from dataclasses import dataclass


class LoibinhError(Exception):
    """Base of every error a client can cause or must be told about."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class InvalidJson(LoibinhError):
    pass


class ValidationFailed(LoibinhError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class UnknownSite(LoibinhError):
    pass


class UnknownParent(LoibinhError):
    pass


class CaptchaFailed(LoibinhError):
    def __init__(self, detail: str, reason: str = "failed") -> None:
        super().__init__(detail)
        # wrong, expired, spent, stronger (an escalated client), failed
        self.reason = reason


class FormReused(LoibinhError):
    """The form token was already used by an earlier submission."""


class UnknownCaptcha(LoibinhError):
    """No live challenge with this id (never issued, expired, answered), or
    none whose spoken clip may still be played."""


class PayloadTooLarge(LoibinhError):
    pass


class UnsupportedMediaType(LoibinhError):
    pass


class StoreUnavailable(LoibinhError):
    """Redis could not be reached or did not answer within its timeout."""


class NotReplicated(StoreUnavailable):
    """The comment is on the Redis master, but fewer replicas than the
    operator requires acknowledged it in time: a failover now could lose it."""


class CaptchaUnavailable(LoibinhError):
    """A third-party captcha provider could not be reached, answered too late
    or unreadably, or refused our own request (its configuration): the
    reader is not to blame, and nothing was stored."""


class NotFound(LoibinhError):
    pass


class UnknownBan(LoibinhError):
    """No ban with this id on the site (never made, or already lifted)."""


class UnknownDelivery(LoibinhError):
    """No dead webhook delivery with this id on the site."""


class MethodNotAllowed(LoibinhError):
    def __init__(self, detail: str, allowed: set[str]) -> None:
        super().__init__(detail)
        self.allowed = allowed


class Unauthorized(LoibinhError):
    """No API key, or one that is unknown or revoked."""


class Forbidden(LoibinhError):
    """A valid key, but for another site or with too low a role."""


class Banned(LoibinhError):
    """The author or their address is banned and the site answers honestly."""


class UnknownComment(LoibinhError):
    pass


class InvalidImport(LoibinhError):
    """A file to import that cannot be read as its format says, or whose
    content loibinh cannot take; the detail names the line or record.
    Nothing of the file was stored."""


class InvalidToken(LoibinhError):
    """A sign-in token that cannot be trusted: malformed, badly signed,
    expired, for another issuer or audience, or sent to a site that takes none."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        # malformed, algorithm, signature, unknown-key, expired, issuer, audience,
        # claims, not-accepted
        self.reason = reason


class IdentityUnavailable(LoibinhError):
    """The login system's published keys could not be fetched, and none are
    cached: the reader is not to blame, and nothing was stored."""


class InvalidLink(LoibinhError):
    """A confirm or unsubscribe link that the service did not make, was
    altered, or has expired."""
