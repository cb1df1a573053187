"""The signed links of a message: confirm an address, unsubscribe it. Only
the service can make one (an HMAC with the keyring's mail key), each for one
site, action and address hash; a confirm link expires, an unsubscribe link
does not (RFC 8058 asks that it keep working)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from service.errors import InvalidLink
from service.keyring import Keyring
from service.settings import SiteMail

Action = Literal["confirm", "unsubscribe"]
NEVER = "0"


@dataclass(frozen=True, slots=True)
class Link:
    """What a link carries: the address hash, its expiry (unix seconds, 0:
    never) and its signature."""

    email_hash: str
    expires: str
    signature: str


def make(
    keyring: Keyring, mail: SiteMail, site_id: str, action: Action, email_hash: str, expires: int
) -> str:
    until = str(expires) if expires else NEVER
    query = urlencode(
        {"e": email_hash, "x": until, "s": keyring.mail_link(site_id, action, email_hash, until)}
    )
    return f"{mail.public_url.rstrip('/')}/v1/sites/{site_id}/mail/{action}?{query}"


def check(
    keyring: Keyring, site_id: str, action: Action, query: dict[str, str], now_s: int
) -> Link:
    """The link's content, or InvalidLink: forged, altered, or expired."""
    email_hash, expires, signature = query.get("e", ""), query.get("x", ""), query.get("s", "")
    expected = keyring.mail_link(site_id, action, email_hash, expires)
    if not (email_hash and expires.isdigit() and hmac.compare_digest(signature, expected)):
        raise InvalidLink("this link is not one loibinh sent, or it was altered")
    if expires != NEVER and int(expires) < now_s:
        raise InvalidLink("this confirmation link has expired; ask again when you next comment")
    return Link(email_hash, expires, signature)
