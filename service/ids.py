"""Comment ids: 48 bits of milliseconds then 80 random bits, in Crockford
base32 (26 characters). They sort by creation time, which is what lets a
thread page by id alone, and they reveal nothing about volume."""

from __future__ import annotations

import base64
import os
import time

# RFC 4648 base32 digits, mapped one for one onto Crockford's, which keep
# their numeric order (RFC 4648's letters-first order would not sort by time).
_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)


def new_comment_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    # 128 bits as 26 five-bit digits (130 bits, two leading zeros): shifted
    # left by 6, they are the first 26 digits of 17 bytes in base32.
    encoded = base64.b32encode((value << 6).to_bytes(17, "big"))[:26]
    return encoded.translate(_CROCKFORD).decode()


_FROM_CROCKFORD = {c: i for i, c in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}


def comment_time_ms(comment_id: str) -> int | None:
    """When a comment was made, read back from its id's first 48 bits (its
    first 10 digits hold 50 bits, the top two zero); None if not an id."""
    value = 0
    for digit in comment_id[:10]:
        if digit not in _FROM_CROCKFORD:
            return None
        value = value * 32 + _FROM_CROCKFORD[digit]
    return value if len(comment_id) == 26 else None
