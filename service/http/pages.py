"""Handlers of what the service serves to browsers: the widget's files, the
no-JavaScript form page of a thread, the demo article (development mode only)
and the moderators' dashboard."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from aiohttp import web

from service.captcha.gate import challenge_of
from service.errors import StoreUnavailable
from service.http import assets, intake, page_html
from service.http.metering import metered
from service.http.request import client_of, site_of
from service.http.state import SERVICES, SETTINGS
from service.models import COMMENT_ID, ImageChallenge, ThreadPath
from service.store.ratelimit import RateLimited, captcha_limits

DEMO_SITE = "demo"
DEMO_THREAD = "ca-mau-2022-08-12"
WIDGET_FILES = ("loibinh.js", "loibinh.css")
# What the form page lists of a thread: one page, as the widget's first.
FORM_PAGE_COMMENTS = 50


async def widget_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in WIDGET_FILES:
        raise web.HTTPNotFound()
    # Any page may load the widget; its API calls are what CORS guards.
    return assets.respond(
        request, assets.asset(name), {"Cross-Origin-Resource-Policy": "cross-origin"}
    )


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in assets.NAMES or name in WIDGET_FILES:
        raise web.HTTPNotFound()
    return assets.respond(request, assets.asset(name))


async def thread_form(request: web.Request) -> web.Response:
    """A thread's comments and its comment form as plain HTML, with a fresh
    image captcha, for readers without JavaScript (a link or an iframe)."""
    site_id, site = site_of(request)
    thread = intake.validate(ThreadPath, {"thread": request.match_info["thread"]}, site).thread
    lang = request.query.get("lang", "")
    lang = lang if lang in page_html.FORM_STRINGS else site.locale
    parent = request.query.get("parent_id", "")
    parent_id = parent if COMMENT_ID.fullmatch(parent) else None
    back = {k: v for k, v in (("lang", request.query.get("lang")), ("parent_id", parent_id)) if v}
    return_to = request.path + (("?" + urlencode(back)) if back else "")
    app = request.app
    captcha = app[SERVICES].captcha
    client = client_of(request, site_id)
    limits = captcha_limits(app[SERVICES].store.keys(site_id), site, client.ip_hash)
    challenge: ImageChallenge | None = None
    form_token: str | None = None
    status, wait = 200, 0
    headers: dict[str, str] = {}
    try:
        async with metered(request, limits) as meter:
            issued = await captcha.issue(site_id, limits)
            meter.usage = issued.usage
        challenge = challenge_of(site_id, issued)
        form_token = issued.form_token
        items, _ = await app[SERVICES].store.thread_page(site_id, thread, None, FORM_PAGE_COMMENTS)
    except RateLimited as exc:
        status, wait, items = 429, exc.retry_after, []
    except StoreUnavailable:
        status, wait, items = 503, app[SETTINGS].retry_after_seconds, []
    if wait:
        headers["Retry-After"] = str(wait)
    page = page_html.FormPage(
        site_id=site_id,
        thread=thread,
        lang=lang,
        return_to=return_to,
        parent_id=parent_id,
        challenge=challenge,
        form_token=form_token,
        outcome={k: v for k, v in request.query.items() if k.startswith("lb_")},
        comments=[orjson.loads(item) for item in items],
        wait_seconds=wait,
    )
    # Framable by the site's own pages, which may show it in an iframe.
    ancestors = " ".join(["'self'", *site.allowed_origins])
    headers.update(
        page_html.security_headers(
            page_html.csp(scripts="none", ancestors=ancestors), framable=True
        )
    )
    return web.Response(
        text=page_html.form_page(page), status=status, content_type="text/html", headers=headers
    )


async def demo(request: web.Request) -> web.Response:
    """The demo article with the widget under it: development mode only."""
    settings = request.app[SETTINGS]
    if settings.mode != "development" or not settings.sites:
        raise web.HTTPNotFound()
    site_id = DEMO_SITE if DEMO_SITE in settings.sites else next(iter(settings.sites))
    provider = page_html.PROVIDER_ORIGINS.get(settings.sites[site_id].captcha_provider, "")
    headers = page_html.security_headers(page_html.csp(scripts=provider, frames=provider))
    return web.Response(
        text=page_html.demo_page(site_id, DEMO_THREAD), content_type="text/html", headers=headers
    )


async def dashboard(request: web.Request) -> web.Response:
    """The moderators' dashboard: a shell; everything else goes through the API."""
    headers = page_html.security_headers(page_html.csp(form="'none'"))
    headers["Referrer-Policy"] = "no-referrer"
    return web.Response(text=page_html.dashboard_page(), content_type="text/html", headers=headers)


async def dashboard_slash(request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect("/moderate/")
