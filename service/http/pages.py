"""Handlers of what the service serves to browsers: the widget's files, the
no-JavaScript form page of a thread, the demo article (development mode only)
and the moderators' dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
from aiohttp import web

from service.captcha.gate import challenge_of
from service.errors import StoreUnavailable
from service.http import assets, intake, page_html
from service.http.metering import metered
from service.http.request import client_of, site_of
from service.http.state import SERVICES, SETTINGS
from service.models import COMMENT_ID, ImageChallenge, ThreadPath
from service.settings import Site
from service.store.ratelimit import RateLimited, captcha_limits

DEMO_SITE = "demo"
DEMO_THREAD = "ca-mau-2022-08-12"
WIDGET_FILES = ("loibinh.js", "loibinh.css")
# What the form page lists of a thread: one page, as the widget's first.
FORM_PAGE_COMMENTS = 50
# The longest article title the form page takes from its link.
TITLE_MAX = 200


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


@dataclass(frozen=True, slots=True)
class FormView:
    """Which form page: its thread, language, the comment replied to and the
    article's title, from the page's own query (and so from its return_to)."""

    thread: str
    lang: str
    parent_id: str | None
    title: str | None
    lang_asked: str | None  # only a language the query chose goes back into it

    def path(self, site_id: str) -> str:
        """The page itself, relative, as its form's return_to."""
        query = {
            k: v
            for k, v in (
                ("lang", self.lang_asked),
                ("parent_id", self.parent_id),
                ("title", self.title),
            )
            if v
        }
        base = f"/v1/sites/{site_id}/threads/{self.thread}/form"
        return base + ("?" + urlencode(query) if query else "")


def _view(site: Site, thread: str, query: Mapping[str, str]) -> FormView:
    lang = query.get("lang", "")
    parent = query.get("parent_id", "")
    # The site's own link may name its article; anything unprintable is dropped.
    title = " ".join("".join(c for c in query.get("title", "") if c.isprintable()).split())
    return FormView(
        thread=thread,
        lang=lang if lang in page_html.FORM_STRINGS else site.locale,
        parent_id=parent if COMMENT_ID.fullmatch(parent) else None,
        title=title[:TITLE_MAX] or None,
        lang_asked=lang if lang in page_html.FORM_STRINGS else None,
    )


async def thread_form(request: web.Request) -> web.Response:
    """A thread's comments and its comment form as plain HTML, with a fresh
    image captcha, for readers without JavaScript (a link or an iframe)."""
    site_id, site = site_of(request)
    thread = intake.validate(ThreadPath, {"thread": request.match_info["thread"]}, site).thread
    view = _view(site, thread, request.query)
    if request.method == "HEAD":
        # A link checker or a preview asks for the headers only: no challenge
        # is issued for it, and it spends none of the reader's captcha limit.
        return web.Response(content_type="text/html", headers=_form_headers(site))
    outcome = {k: v for k, v in request.query.items() if k.startswith("lb_")}
    return await _render_form(request, site_id, site, view, outcome, {}, 200)


async def form_after_error(
    request: web.Request,
    site_id: str,
    site: Site,
    return_to: str,
    outcome: dict[str, str],
    typed: dict[str, str],
    status: int,
) -> web.Response:
    """A post from the service's own form page that was refused: the page
    again, with what the reader typed and the problem, instead of a redirect
    that would lose the text (or carry it, email and all, in a URL)."""
    parts = urlsplit(return_to)
    thread = parts.path.split("/")[5]
    view = _view(site, thread, dict(parse_qsl(parts.query)))
    return await _render_form(request, site_id, site, view, outcome, typed, status)


def _form_headers(site: Site) -> dict[str, str]:
    # Framable by the site's own pages, which may show it in an iframe.
    ancestors = " ".join(["'self'", *site.allowed_origins])
    return page_html.security_headers(
        page_html.csp(scripts="none", ancestors=ancestors), framable=True
    )


async def _render_form(
    request: web.Request,
    site_id: str,
    site: Site,
    view: FormView,
    outcome: dict[str, str],
    typed: dict[str, str],
    status: int,
) -> web.Response:
    app = request.app
    captcha = app[SERVICES].captcha
    client = client_of(request, site_id)
    limits = captcha_limits(app[SERVICES].store.keys(site_id), site, client.ip_hash)
    challenge: ImageChallenge | None = None
    form_token: str | None = None
    wait = 0
    items: list[bytes] = []
    total = 0
    headers: dict[str, str] = {}
    try:
        async with metered(request, limits) as meter:
            issued = await captcha.issue(site_id, limits)
            meter.usage = issued.usage
        challenge = challenge_of(site_id, issued)
        form_token = issued.form_token
        thread = await app[SERVICES].store.thread_page(
            site_id, view.thread, None, FORM_PAGE_COMMENTS
        )
        items, total = thread.items, thread.total
    except RateLimited as exc:
        status, wait = 429, exc.retry_after
    except StoreUnavailable:
        status, wait = 503, app[SETTINGS].retry_after_seconds
    if wait:
        headers["Retry-After"] = str(wait)
    page = page_html.FormPage(
        site_id=site_id,
        thread=view.thread,
        lang=view.lang,
        return_to=view.path(site_id),
        parent_id=view.parent_id,
        title=view.title,
        article_url=site.article_url(view.thread),
        challenge=challenge,
        form_token=form_token,
        outcome=outcome,
        typed=typed,
        comments=[orjson.loads(item) for item in items],
        total=total,
        wait_seconds=wait,
    )
    headers.update(_form_headers(site))
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
