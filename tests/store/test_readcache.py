"""A worker's copy of the public read's answers (service/store/readcache.py):
its lifetime, its bounds, and what forgetting a thread does. The service's
use of it, against Redis, is in tests/http/test_thread_read.py."""

from __future__ import annotations

from service.store.readcache import MAX_BODY_SHARE, ReadCache


class Clock:
    """The cache's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_copy_lives_its_lifetime_and_no_longer() -> None:
    clock = Clock()
    cache = ReadCache(1.0, clock=clock)
    cache.put(("news", "t", ""), '"a"', b"{}", cache.generation)
    clock.now += 0.999
    kept = cache.get(("news", "t", ""))
    assert kept is not None and (kept.etag, kept.body) == ('"a"', b"{}")
    clock.now += 0.001
    assert cache.get(("news", "t", "")) is None
    assert len(cache) == 0 and cache.size == 0


def test_the_entries_are_bounded_and_the_oldest_go_first() -> None:
    cache = ReadCache(60, max_entries=3)
    for i in range(5):
        cache.put(("news", f"t{i}", ""), f'"{i}"', b"x", cache.generation)
    assert len(cache) == 3
    assert [cache.get(("news", f"t{i}", "")) is None for i in range(5)] == [True] * 2 + [False] * 3
    assert cache.size == 3


def test_the_bytes_are_bounded_and_a_body_too_large_is_not_kept() -> None:
    cache = ReadCache(60, max_bytes=10 * MAX_BODY_SHARE)
    for i in range(MAX_BODY_SHARE * 2):
        cache.put(("news", "t", str(i)), '"e"', b"x" * 10, cache.generation)
        assert cache.size <= 10 * MAX_BODY_SHARE
    assert len(cache) == MAX_BODY_SHARE
    # One body larger than its share would push out the others: its ETag alone is kept.
    cache.put(("news", "big", ""), '"b"', b"x" * 11, cache.generation)
    big = cache.get(("news", "big", ""))
    assert big is not None and big.etag == '"b"' and big.body is None
    # A new answer to the same target replaces the old one, and its bytes.
    cache.put(("news", "t", "31"), '"f"', b"y", cache.generation)
    assert cache.size == 10 * (MAX_BODY_SHARE - 1) + 1


def test_forgetting_a_thread_takes_its_copies_and_no_other() -> None:
    cache = ReadCache(60)
    for target in [
        ("news", "t", ""),
        ("news", "t", "order=newest"),
        ("news", "u", ""),
        ("blog", "t", ""),
    ]:
        cache.put(target, '"e"', b"{}", cache.generation)
    cache.forget("news", ["t"])
    assert cache.get(("news", "t", "")) is None
    assert cache.get(("news", "t", "order=newest")) is None
    assert cache.get(("news", "u", "")) is not None
    assert cache.get(("blog", "t", "")) is not None
    assert cache.size == 4


def test_a_read_sent_before_a_change_is_not_kept() -> None:
    """The read was answered by Redis before the change was made, and
    arrives after the thread was forgotten: keeping it would hide the change
    for the whole lifetime."""
    cache = ReadCache(60)
    sent = cache.generation
    cache.forget("news", ["t"])
    cache.put(("news", "t", ""), '"old"', b"{}", sent)
    assert cache.get(("news", "t", "")) is None
    cache.put(("news", "t", ""), '"new"', b"{}", cache.generation)
    assert cache.get(("news", "t", "")) is not None


def test_a_lifetime_of_zero_keeps_nothing() -> None:
    cache = ReadCache(0)
    cache.put(("news", "t", ""), '"e"', b"{}", cache.generation)
    assert cache.get(("news", "t", "")) is None and len(cache) == 0


def test_a_thread_evicted_and_kept_again_is_still_forgotten() -> None:
    cache = ReadCache(60, max_entries=2)
    cache.put(("news", "t", ""), '"1"', b"{}", cache.generation)
    cache.put(("news", "u", ""), '"2"', b"{}", cache.generation)
    cache.put(("news", "v", ""), '"3"', b"{}", cache.generation)  # t goes
    cache.put(("news", "t", "limit=5"), '"4"', b"{}", cache.generation)  # u goes
    cache.forget("news", ["t"])
    assert len(cache) == 1 and cache.get(("news", "v", "")) is not None
