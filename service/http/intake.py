"""Turning a submission's body, JSON or an HTML form, into a Submission, or
into the domain error that says exactly what is wrong with it."""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from pydantic import BaseModel, ValidationError

from service.errors import (
    FieldError,
    InvalidJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from service.models import CAPTCHA_TAGS, SENDS_MAIL, SIGNED_IN, Author, Submission
from service.settings import Site

M = TypeVar("M", bound=BaseModel)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# What a plain HTML form sends, each field's place in the JSON body.
FORM_FIELDS = {
    "thread": ("thread",),
    "parent_id": ("parent_id",),
    "name": ("author", "name"),
    "email": ("author", "email"),
    "body": ("body",),
    "captcha_id": ("captcha", "id"),
    "captcha_answer": ("captcha", "answer"),
    # The names the ALTCHA, Turnstile, hCaptcha and reCAPTCHA widgets give
    # the fields they add to a form.
    "altcha": ("captcha", "pow"),
    "cf-turnstile-response": ("captcha", "token"),
    "h-captcha-response": ("captcha", "token"),
    "g-recaptcha-response": ("captcha", "token"),
    "website": ("website",),
    "form_token": ("form_token",),
    "notify": ("notify",),
}
FORM_ONLY = {"return_to"}
# Fields a widget adds, which may be present and empty when another captcha
# is in use (hCaptcha fills g-recaptcha-response too, with the same token).
WIDGET_FIELDS = {"altcha", "cf-turnstile-response", "h-captcha-response", "g-recaptcha-response"}
# The service's own no-JavaScript form page (http/pages.thread_form), as a
# path: a relative Location cannot leave the service's origin.
# The fields a reader types on a form page, given back after a refused post.
TYPED_FIELDS = ("name", "email", "body")
OWN_FORM_PAGE = re.compile(
    r"/v1/sites/(?P<site>[a-z0-9-]+)/threads/[A-Za-z0-9][A-Za-z0-9._:-]{0,199}/form"
    r"(?:\?[^#\\\x00-\x20\x7f]*)?"
)


def media_type(request: web.Request) -> str:
    kind = request.content_type
    if kind == JSON or (kind.startswith("application/") and kind.endswith("+json")):
        return JSON
    if kind == FORM:
        return FORM
    raise UnsupportedMediaType(f"cannot read a body of type {kind!r}")


async def read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is {request.content_length} bytes; the limit is {limit}")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes") from None


def field_errors(
    exc: ValidationError, names: dict[tuple[str, ...], str] | None = None
) -> list[FieldError]:
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(str(part) for part in error["loc"])
        if len(loc) >= 2 and loc[0] == "captcha" and loc[1] in CAPTCHA_TAGS:
            loc = loc[:1] + loc[2:]  # the union's tag, not a field the client sent
        field = (names or {}).get(loc) or ".".join(loc) or "(body)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        out.append(FieldError(field, message))
    return out


def validate(model: type[M], data: Any, site: Site | None = None) -> M:
    try:
        return model.model_validate(data, context=_context(site) if site else None)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def _context(site: Site, signed_in: Author | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "name_max_length": site.name_max_length,
        "body_max_length": site.body_max_length,
        SENDS_MAIL: site.mail is not None,
    }
    if signed_in is not None:
        context[SIGNED_IN] = signed_in
    return context


def from_json(raw: bytes, site: Site, signed_in: Author | None = None) -> Submission:
    """`signed_in`: the author a verified sign-in token names, whose
    submission carries no author and no captcha."""
    return parse_json(Submission, raw, _context(site, signed_in))


def parse_json(model: type[M], raw: bytes, context: dict[str, Any] | None = None) -> M:
    """A JSON body as `model`: invalid-json for bytes that are not JSON,
    validation-failed naming each field for JSON that does not fit."""
    try:
        return model.model_validate_json(raw, context=context)
    except ValidationError as exc:
        syntax = [
            e for e in exc.errors(include_url=False) if e["type"] in ("json_invalid", "json_type")
        ]
        if syntax:
            raise InvalidJson(f"the body is not valid UTF-8 JSON: {syntax[0]['msg']}") from None
        if not raw.strip().startswith(b"{"):
            raise ValidationFailed([FieldError("(body)", "must be a JSON object")]) from None
        raise ValidationFailed(field_errors(exc)) from None


def from_form(raw: bytes, site: Site, signed_in: Author | None = None) -> Submission:
    try:
        pairs = parse_qsl(
            raw.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=50,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(
            [FieldError("(body)", f"not a valid UTF-8 form body: {exc}")]
        ) from None
    data: dict[str, Any] = {}
    seen: set[str] = set()
    names: dict[tuple[str, ...], str] = {path: name for name, path in FORM_FIELDS.items()}
    problems = []
    for name, value in pairs:
        if name in seen:
            problems.append(FieldError(name, "given more than once"))
        seen.add(name)
        if name in FORM_ONLY:
            continue  # read by return_to_of, before anything can fail
        path = FORM_FIELDS.get(name)
        if path is None:
            problems.append(FieldError(name, "unknown field"))
            continue
        if name == "parent_id" and value == "":
            continue  # an empty hidden input means "not a reply"
        if name in WIDGET_FIELDS:
            if value == "":
                continue
            earlier = data.get("captcha", {}).get(path[-1])
            if earlier is not None and earlier != value:
                problems.append(FieldError(name, f"differs from {names[path]}"))
                continue
        names[path] = name
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    if problems:
        raise ValidationFailed(problems)
    try:
        submission = Submission.model_validate(data, context=_context(site, signed_in))
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc, names)) from None
    return submission


def allowed_return_to(value: str | None, site: Site, site_id: str = "") -> str:
    """A form's return_to must be a page of one of the site's own origins, or
    the service's own form page of this site, so that the service can never be
    used as an open redirect."""
    if not value:
        raise ValidationFailed([FieldError("return_to", "required for a form post")])
    own = OWN_FORM_PAGE.fullmatch(value)
    if own is not None and own["site"] == site_id:
        return value
    try:
        parts = urlsplit(value)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
    except ValueError:
        origin = ""
    if origin not in site.allowed_origins or parts.username or parts.password:
        raise ValidationFailed([FieldError("return_to", "not a page of one of the site's origins")])
    return value


def typed_of(raw: bytes) -> dict[str, str]:
    """What the reader typed in a form body (name, email, comment), to give
    it back with the form when the post is refused."""
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v for k, v in pairs if k in TYPED_FIELDS}


def is_own_form_page(return_to: str) -> bool:
    """A relative return_to: the service's own form page (allowed_return_to checked the site)."""
    return OWN_FORM_PAGE.fullmatch(return_to) is not None


def return_to_of(raw: bytes) -> str | None:
    """The return_to of a form body, read before anything else can fail, so
    that every later outcome can be sent back to the page."""
    try:
        for name, value in parse_qsl(
            raw.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=50,
        ):
            if name == "return_to":
                return value
    except (UnicodeDecodeError, ValueError):
        return None
    return None


async def read_json(request: web.Request, model: type[M], limit: int) -> M:
    """The body of a JSON-only route (the moderation API) as `model`."""
    if media_type(request) != JSON:
        raise UnsupportedMediaType(f"send application/json, not {request.content_type!r}")
    return parse_json(model, await read_body(request, limit))
