"""Comment ids sort by time and look the same everywhere; times are RFC 3339."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from service.clock import rfc3339
from service.ids import new_comment_id
from service.models import COMMENT_ID_PATTERN
from service.store.connection import RedisClock

MS = st.integers(min_value=0, max_value=2**48 - 1)


@given(st.integers(min_value=0, max_value=253_402_300_799_999))  # up to 9999-12-31
def test_rfc3339_matches_datetime(ms: int) -> None:
    # timedelta is exact where fromtimestamp(ms / 1000) rounds through a float.
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    reference = moment.isoformat(timespec="milliseconds")
    assert rfc3339(ms) == reference.replace("+00:00", "Z")


@given(MS, MS)
def test_ids_sort_by_time(earlier: int, later: int) -> None:
    earlier, later = sorted((earlier, later))
    first, second = new_comment_id(earlier), new_comment_id(later)
    assert re.match(COMMENT_ID_PATTERN, first) and re.match(COMMENT_ID_PATTERN, second)
    if earlier < later:
        assert first < second


def test_ids_carry_their_time_in_crockford_base32() -> None:
    digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = 0
    for char in new_comment_id(1_796_007_071_678):
        value = value * 32 + digits.index(char)
    assert value >> 80 == 1_796_007_071_678


@given(MS, st.binary(min_size=10, max_size=10))
def test_an_id_is_its_time_and_random_bits_in_base32(ms: int, random: bytes) -> None:
    digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = (ms << 80) | int.from_bytes(random, "big")
    expected = "".join(digits[(value >> shift) & 31] for shift in range(125, -1, -5))
    with patch("service.ids.os.urandom", return_value=random):
        assert new_comment_id(ms) == expected


async def test_a_deadline_in_redis_time_never_outlasts_the_budget(rds: Any) -> None:
    """Invariant 1 hangs on it: a script that runs after the client gave up
    must find its deadline passed, however the clock's offset was misread."""
    clock = RedisClock()
    await clock.sync(rds)
    assert clock.uncertainty_ms >= 1
    before = clock.now_ms()
    deadline = clock.deadline_ms(1000)
    # The budget, less what the offset may be off by.
    assert 0 <= deadline - before - (1000 - clock.uncertainty_ms) <= 50
