"""The pages behind a message's links: confirm an address (the second step
of the double opt-in) and unsubscribe it. A GET shows a page with one
button and changes nothing, because mail scanners and link previews fetch
links; the button POSTs. An unsubscribe also takes the one-click POST of
RFC 8058 (`List-Unsubscribe=One-Click`) that mail clients send by themselves."""

from __future__ import annotations

from html import escape

from aiohttp import web

from service.clock import now_ms
from service.http import page_html
from service.http.request import site_of
from service.http.state import KEYRING, SERVICES
from service.mail import links
from service.mail.links import Action
from service.mail.messages import site_name

PAGES = {
    "vi": {
        "confirm": (
            "Xác nhận nhận thông báo",
            "Nhận email khi có người trả lời bình luận của bạn?",
            "Xác nhận",
            "Đã xác nhận: bạn sẽ nhận email khi có người trả lời.",
        ),
        "unsubscribe": (
            "Ngừng nhận thông báo",
            "Ngừng nhận email về các câu trả lời?",
            "Ngừng nhận",
            "Đã xong: bạn sẽ không nhận thêm email thông báo nào.",
        ),
    },
    "en": {
        "confirm": (
            "Confirm reply notifications",
            "Be emailed when someone replies to you?",
            "Confirm",
            "Confirmed: you will be emailed when someone replies.",
        ),
        "unsubscribe": (
            "Stop reply notifications",
            "Stop the emails about replies?",
            "Unsubscribe",
            "Done: you will get no more reply notifications.",
        ),
    },
}


def _page(title: str, site: str, content: str, lang: str) -> web.Response:
    html = (
        f'<!doctype html><html lang="{lang}"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · {escape(site)}</title>"
        f"<main><h1>{escape(title)}</h1>{content}</main></html>"
    )
    headers = page_html.security_headers(page_html.csp(scripts="none"))
    return web.Response(text=html, content_type="text/html", headers=headers)


async def _link_page(request: web.Request, action: Action) -> web.Response:
    site_id, site = site_of(request)
    if site.mail is None:
        raise web.HTTPNotFound()
    link = links.check(request.app[KEYRING], site_id, action, dict(request.query), now_ms() // 1000)
    title, question, button, done = PAGES[site.locale][action]
    name = site_name(site.mail)
    if request.method == "GET":
        form = (
            f'<p>{escape(question)}</p><form method="post"><button type="submit">'
            f"{escape(button)}</button></form>"
        )
        return _page(title, name, form, site.locale)
    subscriptions = request.app[SERVICES].subscriptions
    if action == "confirm":
        await subscriptions.confirm(site_id, link.email_hash)
    else:
        await subscriptions.forget(site_id, [link.email_hash])
    return _page(title, name, f'<p role="status">{escape(done)}</p>', site.locale)


async def confirm(request: web.Request) -> web.Response:
    return await _link_page(request, "confirm")


async def unsubscribe(request: web.Request) -> web.Response:
    return await _link_page(request, "unsubscribe")
