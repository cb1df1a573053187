"""The HTML pages the service renders itself: the no-JavaScript comment form
of a thread, the demo article and the dashboard's shell, with their security
headers. Everything that comes from a request or from storage is escaped here
(comment bodies arrive already escaped as body_html, see text/render.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from service.models import ImageChallenge

# The origins a site-chosen captcha provider's script and frames come from.
PROVIDER_ORIGINS = {
    "turnstile": "https://challenges.cloudflare.com",
    "hcaptcha": "https://js.hcaptcha.com https://*.hcaptcha.com",
    "recaptcha-v2": "https://www.google.com https://www.gstatic.com",
    "recaptcha-v3": "https://www.google.com https://www.gstatic.com",
}

FORM_STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Bình luận",
        "write": "Viết bình luận",
        "none": "Chưa có bình luận nào.",
        "name": "Họ và tên",
        "email": "Email",
        "email_hint": "Không hiển thị công khai.",
        "body": "Lời bình",
        "captcha": "Xác thực",
        "answer": "Nhập các ký tự trong hình",
        "image": "Mã xác thực dạng hình",
        "audio": "Nghe mã",
        "refresh": "Đổi mã khác",
        "submit": "Gửi bình luận",
        "hp": "Để trống ô này",
        "replying": "Bạn đang trả lời một bình luận.",
        "pending": "Cảm ơn bạn! Bình luận đang chờ kiểm duyệt.",
        "approved": "Cảm ơn bạn! Bình luận đã được đăng.",
        "captcha-failed": "Mã xác thực chưa đúng hoặc đã hết hạn. Vui lòng nhập mã mới.",
        "validation-failed": "Vui lòng kiểm tra lại: {fields}.",
        "rate-limited": "Bạn gửi quá nhanh. Vui lòng đợi {seconds} giây rồi thử lại.",
        "unavailable": "Hệ thống đang bận. Vui lòng thử lại sau ít phút.",
        "banned": "Bạn không thể bình luận trên trang này.",
        "unknown-parent": "Bình luận bạn trả lời không còn nữa.",
        "error": "Không gửi được bình luận. Vui lòng thử lại.",
        "retype": "Nếu cần, dùng nút Quay lại của trình duyệt để lấy lại nội dung đã nhập.",
        "no_captcha": "Chưa thể tạo mã xác thực. Vui lòng tải lại trang sau {seconds} giây.",
        "back": "Về bài viết",
        "count": "{n} bình luận",
        "kept": "Nội dung bạn đã nhập vẫn còn bên dưới.",
    },
    "en": {
        "title": "Comments",
        "write": "Write a comment",
        "none": "No comments yet.",
        "name": "Full name",
        "email": "Email",
        "email_hint": "Never shown publicly.",
        "body": "Comment",
        "captcha": "Verification",
        "answer": "Type the characters in the image",
        "image": "Verification image",
        "audio": "Listen",
        "refresh": "New code",
        "submit": "Post comment",
        "hp": "Leave this field empty",
        "replying": "You are replying to a comment.",
        "pending": "Thank you! Your comment is awaiting moderation.",
        "approved": "Thank you! Your comment is published.",
        "captcha-failed": "The verification code was wrong or expired. Please type the new one.",
        "validation-failed": "Please check: {fields}.",
        "rate-limited": "You are posting too fast. Please wait {seconds} seconds and try again.",
        "unavailable": "The service is busy. Please try again in a few minutes.",
        "banned": "You cannot comment on this site.",
        "unknown-parent": "The comment you reply to is gone.",
        "error": "The comment was not sent. Please try again.",
        "retype": "If needed, your browser's Back button brings back what you typed.",
        "no_captcha": "No verification code could be made. Please reload in {seconds} seconds.",
        "back": "Back to the article",
        "count": "{n} comments",
        "kept": "What you typed is still below.",
    },
}
# Form fields named in lb_fields, by the label the reader sees.
FIELD_LABELS = {
    "name": "name",
    "email": "email",
    "body": "body",
    "captcha_answer": "captcha",
    "captcha_id": "captcha",
}


@dataclass(frozen=True, slots=True)
class FormPage:
    site_id: str
    thread: str
    lang: str
    return_to: str
    parent_id: str | None
    title: str | None  # the article's, when the link named it
    article_url: str | None  # from the site's thread_url
    challenge: ImageChallenge | None
    form_token: str | None
    outcome: dict[str, str]
    typed: dict[str, str]  # what the reader typed, given back after a refused post
    comments: list[dict[str, Any]]
    total: int
    wait_seconds: int


# The widget's one date format (Intl's medium date and short time in vi-VN and
# en-GB), written out for a page without script; in UTC, which it says.
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def exact_time(created_at: str, lang: str) -> str:
    when = datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(UTC)
    clock = f"{when.hour:02d}:{when.minute:02d}"
    if lang == "vi":
        return f"{clock} {when.day} thg {when.month}, {when.year}"
    return f"{when.day} {MONTHS_EN[when.month - 1]} {when.year}, {clock}"


# The widget's avatars: initials on one of eight colours chosen by the name
# (the same hash as loibinh.js, over UTF-16 code units, so both pick alike).
AVATAR_HUES = 8


def initials(name: str) -> str:
    words = name.split()
    if not words:
        return "?"
    return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()


def hue(name: str) -> int:
    units = name.encode("utf-16-le")
    total = 0
    for i in range(0, len(units), 2):
        total = (total * 31 + int.from_bytes(units[i : i + 2], "little")) & 0xFFFFFFFF
    return total % AVATAR_HUES


def csp(
    *, scripts: str = "", frames: str = "", ancestors: str = "'none'", form: str = "'self'"
) -> str:
    script_src = f"'self' {scripts}".strip() if scripts != "none" else "'none'"
    frame_src = frames or "'none'"
    return (
        f"default-src 'none'; script-src {script_src}; style-src 'self'; "
        "img-src 'self' data:; media-src 'self'; connect-src 'self'; "
        f"frame-src {frame_src}; form-action {form}; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )


def security_headers(policy: str, *, framable: bool = False) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cache-Control": "no-store",
    }
    if not framable:
        headers["X-Frame-Options"] = "DENY"
    return headers


def _outcome_message(page: FormPage, t: dict[str, str]) -> tuple[str, str] | None:
    """(css class, message) of the lb_* outcome in the query, from known values only."""
    status = page.outcome.get("lb_status")
    if status in ("pending", "approved"):
        return "ok", t[status]
    if status != "error":
        return None
    problem = page.outcome.get("lb_problem", "")
    if problem == "validation-failed":
        names = {
            FIELD_LABELS[f]
            for f in page.outcome.get("lb_fields", "").split(",")
            if f in FIELD_LABELS
        }
        fields = ", ".join(t[n] for n in ("name", "email", "body", "captcha") if n in names)
        return "err", t[problem].format(fields=fields or t["write"])
    if problem == "rate-limited":
        seconds = page.outcome.get("lb_retry_after", "")
        return "err", t[problem].format(seconds=seconds if seconds.isdigit() else "60")
    if problem in ("captcha-failed", "unavailable", "banned", "unknown-parent"):
        return "err", t[problem]
    return "err", t["error"]


def _comment(c: dict[str, Any], lang: str) -> str:
    e = escape
    name = c["author"]["name"]
    when = exact_time(c["created_at"], lang)
    return (
        f'<li id="c-{e(c["id"])}"{" class=reply" if c.get("parent_id") else ""}>'
        f'<span class="av h{hue(name)}" aria-hidden=true>{e(initials(name))}</span>'
        f"<div><p class=meta><b>{e(name)}</b> "
        f'<time datetime="{e(c["created_at"])}" title="UTC">{e(when)}</time></p>'
        f"<div class=body>{c['body_html']}</div></div></li>"
    )


def form_page(page: FormPage) -> str:
    t = FORM_STRINGS[page.lang]
    e = escape
    site, thread = e(page.site_id), e(page.thread)
    heading = e(page.title) if page.title else f"{t['title']} · {thread}"
    comments = "".join(_comment(c, page.lang) for c in page.comments)
    listing = f"<ol class=comments>{comments}</ol>" if comments else f"<p>{t['none']}</p>"
    count = f" <span class=count>{t['count'].format(n=page.total)}</span>" if page.total else ""
    back = (
        f'<p class=back><a href="{e(page.article_url)}">← {t["back"]}</a></p>'
        if page.article_url
        else ""
    )
    message = _outcome_message(page, t)
    notice = ""
    if message is not None:
        kind, text = message
        role = "status" if kind == "ok" else "alert"
        extra = ""
        if kind == "err":
            extra = f" {t['kept']}" if page.typed else f" {t['retype']}"
        notice = f'<p class="notice {kind}" role="{role}">{e(text)}{e(extra)}</p>'
    failed = page.outcome.get("lb_fields", "").split(",") if message and message[0] == "err" else []
    if page.outcome.get("lb_problem") == "captcha-failed":
        failed.append("captcha_answer")
    invalid = {f: ' aria-invalid="true"' if f in failed else "" for f in FIELD_LABELS}
    typed = {k: e(page.typed.get(k, "")) for k in ("name", "email", "body")}
    if page.challenge is not None:
        ch = page.challenge
        audio = f' <a href="{e(ch.audio_url)}">{t["audio"]}</a>' if ch.audio_url is not None else ""
        token = (
            f'<input type=hidden name=form_token value="{e(page.form_token)}">'
            if page.form_token
            else ""
        )
        captcha = (
            f'<input type=hidden name=captcha_id value="{e(ch.id)}">{token}'
            f'<img src="{e(ch.image)}" alt="{t["image"]}" width=200 height=70>'
            f'<p class=tools><a href="{e(page.return_to)}">{t["refresh"]}</a>{audio}</p>'
            f"<label for=a>{t['answer']}</label>"
            f"<input id=a name=captcha_answer required autocomplete=off maxlength=32"
            f" autocapitalize=characters spellcheck=false{invalid['captcha_answer']}>"
        )
    else:
        captcha = (
            f"<p class='notice err'>{e(t['no_captcha'].format(seconds=page.wait_seconds))}</p>"
        )
    parent = (
        f'<input type=hidden name=parent_id value="{e(page.parent_id)}"><p>{t["replying"]}</p>'
        if page.parent_id
        else ""
    )
    return (
        f'<!doctype html><html lang="{page.lang}"><head><meta charset=utf-8>'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        '<link rel=icon href="data:,">'
        f"<title>{t['title']} · {e(page.title) if page.title else thread}</title>"
        '<link rel=stylesheet href="/static/pages.css"></head><body class=form-page>'
        f"<main>{back}<h1>{heading}</h1>"
        f"<section class=lb aria-labelledby=lb-h><h2 id=lb-h>{t['title']}{count}</h2>{listing}"
        f'<form id=loibinh method=post action="/v1/sites/{site}/comments" accept-charset=utf-8>'
        f"<h2>{t['write']}</h2>{notice}"
        f'<input type=hidden name=thread value="{thread}">'
        f'<input type=hidden name=return_to value="{e(page.return_to)}">{parent}'
        f"<p><label for=n>{t['name']}</label><input id=n name=name required maxlength=80"
        f' autocomplete=name value="{typed["name"]}"{invalid["name"]}></p>'
        f"<p><label for=e>{t['email']}</label><input id=e name=email type=email required"
        f' autocomplete=email aria-describedby=e-hint value="{typed["email"]}"{invalid["email"]}>'
        f"<small id=e-hint>{t['email_hint']}</small></p>"
        f"<p><label for=b>{t['body']}</label><textarea id=b name=body rows=6 required"
        f"{invalid['body']}>{typed['body']}</textarea></p>"
        f"<p class=hp aria-hidden=true><label>{t['hp']} <input name=website tabindex=-1"
        " autocomplete=off></label></p>"
        f"<fieldset><legend>{t['captcha']}</legend>{captcha}</fieldset>"
        f"<p><button type=submit>{t['submit']}</button></p></form></section></main></body></html>"
    )


DEMO_TITLE = "Mùa cua ở Cà Mau: rừng đước, con nước và những vuông tôm"
DEMO_ARTICLE = """
<p class=lede>Cà Mau, mũi đất cuối cùng của Tổ quốc, đang vào mùa cua. Từ tờ mờ sáng,
những chiếc xuồng máy đã rẽ nước trên sông Ông Đốc, chở theo cần xé, lưới và cả những
câu chuyện của người dân vùng đất rừng đước.</p>
<p>Chị Nguyễn Thị Thùy Dương, chủ một vuông tôm quảng canh ở huyện Ngọc Hiển, kể rằng năm
nay con nước thuận, cua lột nhiều và chắc thịt. “Mỗi sáng tôi thăm vuông, trưa đã có
thương lái vào tận nơi mua”, chị nói, tay vẫn thoăn thoắt buộc dây lát.</p>
<p>Theo ngành nông nghiệp tỉnh, mô hình tôm – rừng giúp giữ lại diện tích rừng ngập mặn
trong khi vẫn bảo đảm thu nhập cho người dân. Những cánh rừng đước, mắm không chỉ chắn
sóng, giữ đất mà còn là nơi sinh sống của cua, cá, sò huyết.</p>
<p>Dù vậy, sạt lở bờ biển phía Tây vẫn là nỗi lo thường trực. Nhiều hộ dân mong có thêm
kè mềm, thêm cây giống để trồng lại những đoạn rừng đã mất.</p>
<p><em>Bạn đã từng đến Cà Mau? Hãy để lại lời bình bên dưới.</em></p>
"""


def demo_page(site_id: str, thread: str) -> str:
    e = escape
    form = f"/v1/sites/{e(site_id)}/threads/{e(thread)}/form?title={quote(DEMO_TITLE)}"
    return (
        '<!doctype html><html lang="vi"><head><meta charset=utf-8>'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        '<link rel=icon href="data:,">'
        "<title>Mùa cua ở Cà Mau · Báo Demo</title>"
        '<link rel=stylesheet href="/static/pages.css">'
        '<script src="/widget/v1/loibinh.js" defer></script></head>'
        "<body class=demo><header class=masthead><b>Báo Demo</b>"
        '<nav><a href="/moderate/">Trang kiểm duyệt</a></nav></header>'
        f"<main><article><h1>{DEMO_TITLE}</h1>"
        "<p class=byline>Bài viết minh họa cho loibinh · 12/08/2022</p>"
        f"{DEMO_ARTICLE}</article>"
        f'<div id=comments data-loibinh-site="{e(site_id)}" data-loibinh-thread="{e(thread)}">'
        f'<noscript><p><a href="{form}">Bình luận không cần JavaScript</a></p></noscript></div>'
        "</main></body></html>"
    )


def dashboard_page() -> str:
    """The dashboard's shell. It names no site: which sites a deployment
    serves is not for anyone without a key to learn."""
    return (
        '<!doctype html><html lang="vi"><head><meta charset=utf-8>'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        '<link rel=icon href="data:,">'
        "<title>loibinh · Kiểm duyệt</title>"
        '<link rel=stylesheet href="/static/moderate.css">'
        '<script src="/static/moderate.js" defer></script></head>'
        "<body><div id=app aria-live=polite><noscript>JavaScript is required.</noscript></div>"
        "</body></html>"
    )
