"""Comment ids: 48 bits of milliseconds then 80 random bits, in Crockford
base32 (26 characters). They sort by creation time, which is what lets a
thread page by id alone, and they reveal nothing about volume."""

from __future__ import annotations

import os
import time

# Crockford's digits keep their numeric order, so ids sort by time.
_DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every pair of digits, by the ten bits it stands for: an id is written ten
# bits at a time, which costs half of what base64.b32encode (Python code) did.
_PAIRS = [high + low for high in _DIGITS for low in _DIGITS]
# 128 bits as 26 five-bit digits: 130 bits, the top two zero.
_SHIFTS = tuple(range(120, -1, -10))


def new_comment_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join([_PAIRS[(value >> shift) & 0x3FF] for shift in _SHIFTS])


_FROM_CROCKFORD = {c: i for i, c in enumerate(_DIGITS)}


def comment_time_ms(comment_id: str) -> int | None:
    """When a comment was made, read back from its id's first 48 bits (its
    first 10 digits hold 50 bits, the top two zero); None if not an id."""
    value = 0
    for digit in comment_id[:10]:
        if digit not in _FROM_CROCKFORD:
            return None
        value = value * 32 + _FROM_CROCKFORD[digit]
    return value if len(comment_id) == 26 else None
