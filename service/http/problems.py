"""The one place that turns domain errors into RFC 9457 problem-details
answers, and the catalogue of problem types with the short explanation served
at each type's URL."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from aiohttp import web

from service import errors
from service.store.ratelimit import RateLimited

CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class ProblemType:
    name: str
    status: int
    title: str
    explanation: str


CATALOGUE = {
    p.name: p
    for p in (
        ProblemType(
            "invalid-json",
            400,
            "The body is not valid JSON",
            "The request body could not be parsed as UTF-8 JSON. Nothing was stored.",
        ),
        ProblemType(
            "captcha-failed",
            400,
            "The captcha was not solved",
            "The captcha answer was wrong, or the challenge expired or was already "
            "used. Each challenge allows one attempt: ask for a new one.",
        ),
        ProblemType(
            "form-reused",
            400,
            "The form was already submitted",
            "Each form token (issued with the captcha) may be submitted once. Ask for "
            "a new challenge, which comes with a new token, and submit again.",
        ),
        ProblemType(
            "malformed-request",
            400,
            "The request is not well-formed HTTP",
            "The request line or a header could not be parsed. Nothing was read past it, "
            "and the connection is closed.",
        ),
        ProblemType(
            "headers-too-large",
            431,
            "A header is too long",
            "The request line or a header field is longer than the service accepts "
            "(8,190 bytes). Nothing was read past it, and the connection is closed.",
        ),
        ProblemType(
            "unauthorized",
            401,
            "An API key is required",
            "Send `Authorization: Bearer <api key>`; keys are created with `loibinh keys create`.",
        ),
        ProblemType(
            "invalid-token",
            401,
            "The sign-in token is not valid",
            "The `Authorization: Bearer` token from the site's login is malformed, badly "
            "signed, expired, or was issued for another site (issuer or audience), or this "
            "site takes no sign-in tokens. Sign in again; nothing was stored.",
        ),
        ProblemType(
            "forbidden",
            403,
            "Not allowed with this key",
            "The API key is valid but covers another site, or its role is too low for this "
            "action (moderator: queue, claims, decisions; admin: also bans, erasure, audit).",
        ),
        ProblemType(
            "banned",
            403,
            "Banned from commenting",
            "The author or their address is banned from commenting on this site.",
        ),
        ProblemType(
            "unknown-comment",
            404,
            "Unknown comment",
            "No such comment on this site (or, for a report, none that is published).",
        ),
        ProblemType(
            "unknown-captcha",
            404,
            "Unknown captcha challenge",
            "No live challenge with this id: it was never issued, has expired, or was "
            "already answered (each allows one attempt), or its spoken version was played "
            "the most times allowed. Ask for a new challenge.",
        ),
        ProblemType("not-found", 404, "Not found", "No resource exists at this URL."),
        ProblemType(
            "unknown-ban",
            404,
            "Unknown ban",
            "No ban with this id on this site: it was never made or was already lifted. "
            "GET the bans to see those in force.",
        ),
        ProblemType(
            "unknown-delivery",
            404,
            "Unknown dead delivery",
            "No dead webhook delivery with this id on this site: it was delivered, "
            "requeued already, or dropped after the time dead deliveries are kept.",
        ),
        ProblemType(
            "invalid-link",
            404,
            "The link is not valid",
            "This confirm or unsubscribe link was not made by this service, was altered "
            "(copied incompletely, say), or has expired. Nothing was changed.",
        ),
        ProblemType(
            "unknown-site",
            404,
            "Unknown site",
            "No site with this id is configured on this service.",
        ),
        ProblemType(
            "unknown-parent",
            404,
            "Unknown parent comment",
            "The comment replied to does not exist, is not published, or belongs to "
            "another thread.",
        ),
        ProblemType(
            "method-not-allowed",
            405,
            "Method not allowed",
            "This URL exists but does not answer this HTTP method; see the Allow header.",
        ),
        ProblemType(
            "payload-too-large",
            413,
            "The body is too large",
            "The request body exceeds the service's size limit. Nothing was stored.",
        ),
        ProblemType(
            "unsupported-media-type",
            415,
            "Unsupported media type",
            "Send application/json, or application/x-www-form-urlencoded from an HTML "
            "form; see the Accept-Post header.",
        ),
        ProblemType(
            "validation-failed",
            422,
            "The submission is not valid",
            "One or more fields are missing or invalid; `errors` lists each field with "
            "its problem. Nothing was stored.",
        ),
        ProblemType(
            "invalid-import",
            422,
            "The file cannot be imported",
            "The file to import is not what its format says, or holds a record loibinh "
            "cannot take; `detail` names the line or record. Nothing of the file was stored.",
        ),
        ProblemType(
            "rate-limited",
            429,
            "Too many requests",
            "A rate limit was reached. Retry after the number of seconds in "
            "Retry-After; the RateLimit header field says which limit.",
        ),
        ProblemType(
            "internal",
            500,
            "Internal error",
            "Something unexpected failed inside the service. It was logged with the "
            "request id given in `request_id`.",
        ),
        ProblemType(
            "unavailable",
            503,
            "Temporarily unavailable",
            "The comment store, the site's captcha provider or its login system's keys "
            "could not be reached or "
            "answered unreadably. Nothing was stored; retry after the number of seconds "
            "in Retry-After.",
        ),
        ProblemType(
            "not-replicated",
            503,
            "Stored but not yet replicated",
            "The comment reached the Redis master, but fewer replicas than the operator "
            "requires acknowledged it in time, so a failover could still lose it. Retry "
            "after the number of seconds in Retry-After with the same Idempotency-Key: the "
            "retry is answered from the stored comment, which is not stored twice. Without "
            "an Idempotency-Key a retry may store the comment twice.",
        ),
    )
}

_BY_ERROR: dict[type[errors.LoibinhError], str] = {
    errors.InvalidJson: "invalid-json",
    errors.CaptchaFailed: "captcha-failed",
    errors.FormReused: "form-reused",
    errors.NotFound: "not-found",
    errors.UnknownBan: "unknown-ban",
    errors.UnknownDelivery: "unknown-delivery",
    errors.UnknownSite: "unknown-site",
    errors.UnknownParent: "unknown-parent",
    errors.MethodNotAllowed: "method-not-allowed",
    errors.PayloadTooLarge: "payload-too-large",
    errors.UnsupportedMediaType: "unsupported-media-type",
    errors.ValidationFailed: "validation-failed",
    RateLimited: "rate-limited",
    errors.StoreUnavailable: "unavailable",
    errors.NotReplicated: "not-replicated",
    errors.CaptchaUnavailable: "unavailable",
    errors.InvalidToken: "invalid-token",
    errors.IdentityUnavailable: "unavailable",
    errors.InvalidLink: "invalid-link",
    errors.Unauthorized: "unauthorized",
    errors.Forbidden: "forbidden",
    errors.Banned: "banned",
    errors.UnknownComment: "unknown-comment",
    errors.UnknownCaptcha: "unknown-captcha",
    errors.InvalidImport: "invalid-import",
}

ACCEPTED_MEDIA = "application/json, application/x-www-form-urlencoded"


def name_of(error: errors.LoibinhError) -> str:
    return _BY_ERROR[type(error)]


def response(
    name: str,
    detail: str,
    *,
    extra: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    kind = CATALOGUE[name]
    body: dict[str, object] = {
        "type": f"/problems/{name}",
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
    }
    if extra:
        body.update(extra)
    return web.Response(
        status=kind.status, body=orjson.dumps(body), content_type=CONTENT_TYPE, headers=headers
    )


def from_error(error: errors.LoibinhError, retry_after_unavailable: int) -> web.Response:
    name = name_of(error)
    extra: dict[str, object] = {}
    headers: dict[str, str] = {}
    if isinstance(error, errors.ValidationFailed):
        extra["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    elif isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(
        error, errors.StoreUnavailable | errors.CaptchaUnavailable | errors.IdentityUnavailable
    ):
        headers["Retry-After"] = str(retry_after_unavailable)
    elif isinstance(error, errors.MethodNotAllowed):
        headers["Allow"] = ", ".join(sorted(error.allowed))
    elif isinstance(error, errors.UnsupportedMediaType):
        headers["Accept-Post"] = ACCEPTED_MEDIA
    elif isinstance(error, errors.Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="loibinh moderation"'
    elif isinstance(error, errors.InvalidToken):
        # RFC 6750 section 3: which token was refused, and why, for the site's developers.
        headers["WWW-Authenticate"] = 'Bearer realm="loibinh", error="invalid_token"'
    return response(name, error.detail, extra=extra, headers=headers)
