"""The messages, in the site's locale (vi or en), each as plain text and
HTML: the confirmation that opts an address in, and the news of a reply.
A reply's message names the replier and quotes them, never their email."""

from __future__ import annotations

import email.utils
from dataclasses import asdict, dataclass
from email.header import Header
from email.message import Message as Message_
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from html import escape
from typing import Any, Literal

from service.settings import SiteMail

Locale = Literal["vi", "en"]
QUOTE_CHARACTERS = 1000

TEXT = {
    "vi": {
        "confirm_subject": "Xác nhận nhận thông báo trả lời từ {site}",
        "confirm_intro": "Bạn (hoặc ai đó dùng địa chỉ này) vừa bình luận trên {site} và "
        "muốn nhận email khi có người trả lời.",
        "confirm_action": "Xác nhận địa chỉ email",
        "confirm_outro": "Nếu không phải bạn, hãy bỏ qua thư này: bạn sẽ không nhận thêm thư nào.",
        "reply_subject": "{name} đã trả lời bình luận của bạn trên {site}",
        "reply_intro": "{name} đã trả lời bình luận của bạn:",
        "reply_yours": "Bình luận của bạn:",
        "reply_action": "Xem bài viết",
        "unsubscribe": "Ngừng nhận thông báo trả lời",
    },
    "en": {
        "confirm_subject": "Confirm reply notifications from {site}",
        "confirm_intro": "You (or someone using this address) commented on {site} and asked "
        "to be emailed when someone replies.",
        "confirm_action": "Confirm the email address",
        "confirm_outro": "If this was not you, ignore this message: no other will follow.",
        "reply_subject": "{name} replied to your comment on {site}",
        "reply_intro": "{name} replied to your comment:",
        "reply_yours": "Your comment:",
        "reply_action": "Read the article",
        "unsubscribe": "Stop reply notifications",
    },
}


@dataclass(frozen=True, slots=True)
class Message:
    """One message as the queue holds it until it is sent."""

    to: str
    email_hash: str
    subject: str
    text: str
    html: str
    unsubscribe: str

    def as_entry(self) -> dict[str, Any]:
        return {**asdict(self), "attempts": 0}


def site_name(mail: SiteMail) -> str:
    if mail.site_name:
        return mail.site_name
    name, address = email.utils.parseaddr(mail.sender)
    return name or address


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_CHARACTERS else text[:QUOTE_CHARACTERS].rstrip() + "…"


def _html(
    paragraphs: list[str], action: tuple[str, str] | None, unsubscribe: str, t: dict[str, str]
) -> str:
    body = "".join(paragraphs)
    if action:
        body += f'<p><a href="{escape(action[1])}">{escape(action[0])}</a></p>'
    body += (
        f'<hr><p><small><a href="{escape(unsubscribe)}">{escape(t["unsubscribe"])}</a></small></p>'
    )
    return f"<!doctype html><html><body>{body}</body></html>"


def confirmation(
    mail: SiteMail, locale: Locale, to: str, email_hash: str, confirm: str, unsubscribe: str
) -> Message:
    t = TEXT[locale]
    site = site_name(mail)
    intro, outro = t["confirm_intro"].format(site=site), t["confirm_outro"]
    text = f"{intro}\n\n{t['confirm_action']}:\n{confirm}\n\n{outro}\n"
    text += f"\n-- \n{t['unsubscribe']}: {unsubscribe}\n"
    html = _html(
        [f"<p>{escape(intro)}</p>", f"<p>{escape(outro)}</p>"],
        (t["confirm_action"], confirm),
        unsubscribe,
        t,
    )
    subject = t["confirm_subject"].format(site=site)
    return Message(to, email_hash, subject, text, html, unsubscribe)


def reply(
    mail: SiteMail,
    locale: Locale,
    to: str,
    email_hash: str,
    replier: str,
    reply_body: str,
    their_body: str,
    article: str | None,
    unsubscribe: str,
) -> Message:
    t = TEXT[locale]
    site = site_name(mail)
    intro = t["reply_intro"].format(name=replier)
    said, theirs = _quote(reply_body), _quote(their_body)
    quoted = "\n".join("> " + line for line in said.splitlines())
    text = f"{intro}\n\n{quoted}\n\n{t['reply_yours']}\n{theirs}\n"
    if article:
        text += f"\n{t['reply_action']}: {article}\n"
    text += f"\n-- \n{t['unsubscribe']}: {unsubscribe}\n"
    said_html = "<br>".join(escape(line) for line in said.splitlines())
    html = _html(
        [
            f"<p>{escape(intro)}</p>",
            f"<blockquote>{said_html}</blockquote>",
            f"<p>{escape(t['reply_yours'])}</p><p><i>{escape(theirs)}</i></p>",
        ],
        (t["reply_action"], article) if article else None,
        unsubscribe,
        t,
    )
    subject = t["reply_subject"].format(name=replier, site=site)
    return Message(to, email_hash, subject, text, html, unsubscribe)


def to_email(entry: dict[str, Any], mail: SiteMail, message_id: str) -> Message_:
    """The queued message as MIME: text and HTML alternatives, with the
    one-click unsubscribe of RFC 8058. Built with the legacy (compat32)
    classes on purpose: the modern generator drops the space at a fold
    between encoded words, and a Vietnamese subject lost "lời từ" to "lờitừ"."""
    message = MIMEMultipart("alternative")
    name, address = email.utils.parseaddr(mail.sender)
    message["From"] = email.utils.formataddr((name, address), charset="utf-8")
    message["To"] = entry["to"]
    message["Subject"] = Header(entry["subject"], "utf-8")  # type: ignore[assignment]
    message["Date"] = email.utils.formatdate(localtime=False)
    domain = address.rpartition("@")[2] or "loibinh"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    # RFC 3834: an automatic message, which autoresponders must not answer.
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{entry['unsubscribe']}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.attach(MIMEText(entry["text"], "plain", "utf-8"))
    message.attach(MIMEText(entry["html"], "html", "utf-8"))
    return message
