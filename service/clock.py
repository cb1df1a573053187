"""Time as the service stores it (integer milliseconds) and shows it (RFC 3339, UTC)."""

from __future__ import annotations

import time
from functools import lru_cache


def now_ms() -> int:
    return int(time.time() * 1000)


def rfc3339(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@lru_cache(maxsize=256)
def _second(seconds: int) -> str:
    # Every submission formats its own time, and most fall in a second that
    # has just been formatted: formatting each second once saves the accept
    # path a datetime per request.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
