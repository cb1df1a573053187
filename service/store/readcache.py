"""A worker's short-lived copies of the public read's answers.

A thread page's answer (its ETag, and its body once a 200 was made) is kept
for `public_revalidate_seconds` under the raw request target, so that a
revalidation or a read of a page that other readers just read is answered
without Redis and without validating the request again: only answers to
requests that passed validation are ever kept. The copy may be that many
seconds staler than Redis, never more than the `max-age` the answer already
lets a CDN serve. A change this worker makes to a thread (a comment
published at submission, a decision, an erasure, a report that hides, an
import) forgets the thread's copies here at once; the other workers' copies
run out within the lifetime.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# The raw request target: site, thread (as the path gave it) and query string.
Target = tuple[str, str, str]

# Per worker. The widget asks every thread for the same first page, so a
# thousand entries hold the pages of a thousand threads being read at once;
# the bytes bound the bodies (a page of 50 comments is about 35 KB).
MAX_ENTRIES = 1024
MAX_BYTES = 8 * 1024 * 1024
# A single body above this is not kept: it would push out dozens of others.
MAX_BODY_SHARE = 16


@dataclass(slots=True)
class CachedPage:
    etag: str
    body: bytes | None  # None: only a revalidation was answered so far
    expires: float


class ReadCache:
    def __init__(
        self,
        seconds: float,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        # Insertion order is expiry order (one lifetime for all), so the
        # oldest entry is the first to evict.
        self._entries: OrderedDict[Target, CachedPage] = OrderedDict()
        # The targets of each thread, so that forgetting one costs its own
        # entries and not a walk over all (it is on the accept path).
        self._threads: dict[tuple[str, str], set[Target]] = {}
        self._bytes = 0
        # Counts the forgetting: a read that was sent before a change and
        # answered after it must not be kept (see `put`).
        self.generation = 0

    @property
    def enabled(self) -> bool:
        return self._seconds > 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes of the bodies kept."""
        return self._bytes

    def get(self, target: Target) -> CachedPage | None:
        page = self._entries.get(target)
        if page is None:
            return None
        if page.expires <= self._clock():
            self._drop(target)
            return None
        return page

    def put(self, target: Target, etag: str, body: bytes | None, generation: int) -> None:
        """Keeps the answer read from Redis, unless a thread was forgotten
        since `generation` was taken (before the read was sent)."""
        if not self.enabled or generation != self.generation:
            return
        if body is not None and len(body) * MAX_BODY_SHARE > self._max_bytes:
            body = None
        self._drop(target)
        page = CachedPage(etag, body, self._clock() + self._seconds)
        self._entries[target] = page
        self._threads.setdefault(target[:2], set()).add(target)
        self._bytes += len(body) if body is not None else 0
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def forget(self, site_id: str, threads: Iterable[str]) -> None:
        """This worker changed these threads: their copies go at once."""
        self.generation += 1
        for thread in threads:
            for target in self._threads.pop((site_id, thread), ()):
                self._drop(target)

    def _drop(self, target: Target) -> None:
        page = self._entries.pop(target, None)
        if page is None:
            return
        if page.body is not None:
            self._bytes -= len(page.body)
        same_thread = self._threads.get(target[:2])
        if same_thread is not None:
            same_thread.discard(target)
            if not same_thread:
                del self._threads[target[:2]]
