"""The signed form token: issued with every captcha, echoed back with the
submission. It tells how long the reader spent on the form (a bot posts
faster than a person can type) and, being single-use, whether the same form
was posted twice. It is stateless until used: the accept script marks it
spent with its remaining lifetime as TTL (lua/accept.lua).

    f1.<issued ms>.<nonce>.<HMAC of site, issued ms and nonce>
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from service.screening.screen import (
    BAD_FORM_TOKEN,
    NO_FORM_TOKEN,
    STALE_FORM_TOKEN,
    TOO_FAST,
    Signal,
)
from service.settings import AbuseRules

VERSION = "f1"


@dataclass(frozen=True, slots=True)
class FormCheck:
    """What a submission's token says: its signals for the screen, and the
    nonce to mark spent (None when there is nothing to mark) for how long."""

    signals: tuple[Signal, ...]
    nonce: str | None = None
    ttl_ms: int = 0


def issue(key: bytes, site: str, now_ms: int) -> str:
    nonce = secrets.token_hex(8)
    return f"{VERSION}.{now_ms}.{nonce}.{_mac(key, site, str(now_ms), nonce)}"


def check(key: bytes, site: str, token: str | None, now_ms: int, rules: AbuseRules) -> FormCheck:
    if not token:
        return FormCheck((Signal("no-form-token", NO_FORM_TOKEN),))
    parts = token.split(".")
    if (
        len(parts) != 4
        or parts[0] != VERSION
        or not parts[1].isdigit()
        or not hmac.compare_digest(parts[3], _mac(key, site, parts[1], parts[2]))
    ):
        # Not one of ours (or another site's): forged, or mangled by a bot.
        return FormCheck((Signal("bad-form-token", BAD_FORM_TOKEN),))
    issued, nonce = int(parts[1]), parts[2]
    age_ms = now_ms - issued
    max_age_ms = rules.form_token_max_age_seconds * 1000
    if age_ms > max_age_ms:
        # Too old to remember whether it was used: no replay mark to set.
        return FormCheck((Signal("stale-form-token", STALE_FORM_TOKEN),))
    signals: tuple[Signal, ...] = ()
    if age_ms < rules.min_fill_seconds * 1000:
        signals = (Signal(f"too-fast:{max(age_ms, 0) / 1000:.1f}s", TOO_FAST),)
    # The mark outlives the token by a little, so a clock step can't reopen it.
    return FormCheck(signals, nonce, max_age_ms - max(age_ms, 0) + 60_000)


def _mac(key: bytes, site: str, issued: str, nonce: str) -> str:
    message = f"{site}\x1f{issued}\x1f{nonce}".encode()
    return hmac.digest(key, message, hashlib.sha256)[:12].hex()
