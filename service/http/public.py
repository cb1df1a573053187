"""Request handlers of the public API and the operations endpoints."""

from __future__ import annotations

import hashlib
import logging
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from aiohttp import web

from service.errors import (
    FieldError,
    LoibinhError,
    UnknownCaptcha,
    UnknownComment,
    ValidationFailed,
)
from service.http import identity, intake, pages, problems
from service.http.metering import metered, peek
from service.http.request import client_of, json_response, site_of
from service.http.state import (
    CAPTCHA_GATE,
    DRAINING,
    METRICS,
    METRICS_ONLY,
    SERVICES,
    SETTINGS,
    SUBMISSIONS,
)
from service.models import (
    CAPTCHA_ID,
    COMMENT_ID,
    CaptchaConfig,
    CommentCounts,
    CountsQuery,
    Health,
    Limits,
    ReportReceived,
    ReportRequest,
    SiteConfig,
    ThreadPath,
    ThreadQuery,
)
from service.settings import THIRD_PARTY
from service.store.connection import UNREACHABLE, describe
from service.store.ratelimit import RateLimited, captcha_limits, report_limits

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY_MAX = 255
# A site's config changes only when the service restarts with a new one: the
# widget fetches it on every page view, so browsers keep it five minutes, and
# revalidate by ETag after that.
CONFIG_MAX_AGE = 300


def _idempotency_key(request: web.Request) -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    # The draft defines the field as a structured-field string: accept it quoted or bare.
    key = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        raise ValidationFailed(
            [
                FieldError(
                    "Idempotency-Key", f"1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters"
                )
            ]
        )
    return key


async def site_config(request: web.Request) -> web.Response:
    _, site = site_of(request)
    config = SiteConfig(
        captcha=CaptchaConfig(
            provider=site.captcha_provider,
            site_key=site.captcha.site_key if site.captcha_provider in THIRD_PARTY else None,
            action=site.captcha_action,
        ),
        locale=site.locale,
        limits=Limits(name_max_length=site.name_max_length, body_max_length=site.body_max_length),
        moderation=site.moderation,
        notify=site.mail is not None,
    )
    return cached_json(request, orjson.dumps(config.model_dump()), CONFIG_MAX_AGE)


async def comment_counts(request: web.Request) -> web.Response:
    """Published comments of many threads at once, for a page of article links."""
    site_id, site = site_of(request)
    query = intake.validate(CountsQuery, {"thread": request.query.getall("thread", [])}, site)
    threads = list(dict.fromkeys(query.thread))
    counts = await request.app[SERVICES].store.thread_counts(site_id, threads)
    body = CommentCounts(counts=dict(zip(threads, counts, strict=True)))
    return cached_json(
        request, orjson.dumps(body.model_dump()), request.app[SETTINGS].public_cache_seconds
    )


async def issue_captcha(request: web.Request) -> web.Response:
    site_id, site = site_of(request)
    client = client_of(request, site_id)
    limits = captcha_limits(request.app[SERVICES].store.keys(site_id), site, client.ip_hash)
    async with metered(request, limits) as meter:
        issued = await request.app[CAPTCHA_GATE].issue(site_id, site, client.ip_hash, limits)
        meter.usage = issued.usage
    body = issued.challenge.model_dump()
    return json_response(body, status=201, headers={"Cache-Control": "no-store"})


async def captcha_audio(request: web.Request) -> web.Response:
    """The spoken challenge, in the site's locale: served from Redis as it was
    rendered with the challenge, never rendered here."""
    site_id, _ = site_of(request)
    challenge_id = request.match_info["captcha"]
    if not CAPTCHA_ID.match(challenge_id):
        raise UnknownCaptcha(f"{challenge_id!r} is not a challenge id")
    clip = await request.app[SERVICES].captcha.audio(site_id, challenge_id)
    # no-store: a clip belongs to one challenge, and replays count against it.
    return web.Response(body=clip, content_type="audio/wav", headers={"Cache-Control": "no-store"})


async def submit_comment(request: web.Request) -> web.StreamResponse:
    """Reads the submission off HTTP (JSON, or a plain form that is answered
    with a redirect) and answers HTTP; the submission stage does the rest."""
    site_id, site = site_of(request)
    app = request.app
    submissions = app[SUBMISSIONS]
    client = client_of(request, site_id)
    return_to: str | None = None
    raw = b""
    try:
        async with metered(request, submissions.first_limits(site_id, site, client)) as meter:
            kind = intake.media_type(request)
            raw = await intake.read_body(request, app[SETTINGS].max_body_bytes)
            if kind == intake.FORM:
                return_to = intake.allowed_return_to(intake.return_to_of(raw), site, site_id)
            reader = await identity.signed_in(request, site)
            if kind == intake.FORM:
                submission = intake.from_form(raw, site, identity.author_of(reader))
            else:
                submission = intake.from_json(raw, site, identity.author_of(reader))
            idempotency_key = _idempotency_key(request)
            stored = await submissions.submit(
                site_id, site, submission, client, idempotency_key, meter, reader
            )
            if stored.replayed:
                await peek(request, meter)  # a replay charged nothing
            else:
                meter.usage = stored.usage
    except LoibinhError as exc:
        app[METRICS].submitted(site_id, "refused", problems.name_of(exc))
        if return_to is not None and intake.is_own_form_page(return_to):
            status = problems.CATALOGUE[problems.name_of(exc)].status
            page = await pages.form_after_error(
                request, site_id, site, return_to, _outcome_of(exc), intake.typed_of(raw), status
            )
            if isinstance(exc, RateLimited):
                page.headers["Retry-After"] = str(exc.retry_after)
            return page
        if return_to is not None:
            return _redirect(return_to, _outcome_of(exc))
        raise
    app[METRICS].submitted(site_id, "accepted", "replayed" if stored.replayed else stored.status)
    if return_to is not None:
        return _redirect(return_to, {"lb_status": stored.status, "lb_id": stored.id})
    return json_response({"id": stored.id, "status": stored.status}, status=202)


async def report_comment(request: web.Request) -> web.Response:
    site_id, site = site_of(request)
    app = request.app
    services = app[SERVICES]
    comment_id = request.match_info["comment"]
    client = client_of(request, site_id)
    limits = report_limits(services.store.keys(site_id), site, client.ip_hash, None)
    async with metered(request, limits) as meter:
        if not COMMENT_ID.match(comment_id):
            raise UnknownComment(f"no published comment {comment_id!r} on this site")
        body = await intake.read_json(request, ReportRequest, app[SETTINGS].max_body_bytes)
        reported = await services.reports.report(
            site_id, site, comment_id, client.ip_hash, body.reason
        )
        meter.report(reported.usage)
    return json_response(ReportReceived(status="received").model_dump(), status=202)


def _outcome_of(exc: LoibinhError) -> dict[str, str]:
    outcome = {"lb_status": "error", "lb_problem": problems.name_of(exc)}
    if isinstance(exc, ValidationFailed):
        outcome["lb_fields"] = ",".join(e.field for e in exc.errors)
    if isinstance(exc, RateLimited):
        outcome["lb_retry_after"] = str(exc.retry_after)
    return outcome


def _redirect(return_to: str, outcome: dict[str, str]) -> web.Response:
    parts = urlsplit(return_to)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("lb_")
    ]
    query += outcome.items()
    location = urlunsplit(parts._replace(query=urlencode(query), fragment="loibinh"))
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


async def thread_comments(request: web.Request) -> web.Response:
    site_id, site = site_of(request)
    raw_thread = request.match_info["thread"]
    services = request.app[SERVICES]
    cache = services.read_cache
    # The raw target names the answer; only validated requests are kept under it.
    target = (site_id, raw_thread, request.query_string)
    cached = cache.get(target)
    if_none_match = request.headers.get("If-None-Match")
    headers = {"Cache-Control": f"public, max-age={request.app[SETTINGS].public_cache_seconds}"}
    if cached is not None:
        headers["ETag"] = cached.etag
        if _matches(if_none_match, cached.etag):
            return web.Response(status=304, headers=headers)
        if cached.body is not None:
            return web.Response(body=cached.body, content_type="application/json", headers=headers)
    thread = intake.validate(ThreadPath, {"thread": raw_thread}, site).thread
    query = intake.validate(ThreadQuery, dict(request.query), site)
    store = services.store
    newest = query.order == "newest"
    generation = cache.generation
    if if_none_match and cached is None:
        # A revalidation (a CDN's, a browser's) reads the ids alone.
        current = await store.thread_page(
            site_id, thread, query.after, query.limit, newest=newest, bodies=False
        )
        cache.put(target, current.etag, None, generation)
        if _matches(if_none_match, current.etag):
            return web.Response(status=304, headers={**headers, "ETag": current.etag})
    page = await store.thread_page(site_id, thread, query.after, query.limit, newest=newest)
    headers["ETag"] = page.etag
    cursor = orjson.loads(page.items[-1])["id"] if page.more and page.items else None
    body = (
        b'{"comments":['
        + b",".join(page.items)
        + b'],"next":'
        + orjson.dumps(cursor)
        + b',"total":'
        + str(page.total).encode()
        + b"}"
    )
    cache.put(target, page.etag, body, generation)
    return web.Response(body=body, content_type="application/json", headers=headers)


def cached_json(request: web.Request, body: bytes, max_age: int) -> web.Response:
    """A public JSON answer that browsers and CDNs may keep for `max_age`
    seconds, then revalidate: its ETag is a hash of the body, so an unchanged
    answer costs a 304 and no body."""
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if _matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match == etag:
        return True  # a CDN's or a browser's revalidation: one tag, as it was given
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


async def healthz(request: web.Request) -> web.Response:
    return json_response(Health(status="ok").model_dump())


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    checks: dict[str, str] = {}
    retry_after = {"Retry-After": str(request.app[SETTINGS].retry_after_seconds)}
    if request.app[DRAINING].is_set():
        # Shutting down (SIGTERM): out of the load balancer first, while the
        # requests already sent here are still answered.
        checks["process"] = "shutting down"
        return json_response(
            Health(status="draining", checks=checks).model_dump(), 503, retry_after
        )
    try:
        await services.redis.ping()
        checks["redis"] = "ok"
        checks.update(await describe(services.redis, request.app[SETTINGS].redis))
        shas = [script.sha for script in services.scripts.all()]
        loaded = await services.redis.script_exists(*shas)
        if all(loaded):
            checks["scripts"] = "ok"
        else:
            await services.scripts.load(services.redis)
            checks["scripts"] = "reloaded"
    except UNREACHABLE as exc:
        request.app[METRICS].redis_reachable(False)
        checks["redis"] = f"unreachable: {type(exc).__name__}"
        return json_response(
            Health(status="unavailable", checks=checks).model_dump(), 503, retry_after
        )
    request.app[METRICS].redis_reachable(True)
    return json_response(Health(status="ok", checks=checks).model_dump())


async def metrics(request: web.Request) -> web.Response:
    if request.app[SETTINGS].metrics_port is not None and not request.app.get(METRICS_ONLY):
        raise web.HTTPNotFound()  # served on its own port (serve.py)
    registry = request.app[METRICS]
    services = request.app[SERVICES]
    try:
        for site_id in request.app[SETTINGS].sites:
            for state, count in (await services.queue.counts(site_id)).items():
                registry.queue_depth.labels(site_id, state).set(count)
    except LoibinhError as exc:  # Redis unreachable: the other metrics still matter most then
        log.warning("queue depths not read for the metrics: %s", exc)
    body, content_type = registry.exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


async def problem_type(request: web.Request) -> web.Response:
    kind = problems.CATALOGUE.get(request.match_info["name"])
    if kind is None:
        raise web.HTTPNotFound()
    page = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(kind.title)}</title>"
        f"<h1>{escape(kind.title)}</h1><p>HTTP status {kind.status}.</p>"
        f"<p>{escape(kind.explanation)}</p></html>"
    )
    return web.Response(text=page, content_type="text/html")
