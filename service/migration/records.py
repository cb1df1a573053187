"""What every reader of a source format yields, in one shape: the threads it
names and its comments, and how a long read reports its progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

# The moderation state a comment is imported in; a source's "deleted" or
# "trashed" comment is `rejected` (kept out of sight, or dropped).
State = Literal["approved", "pending", "reported", "rejected", "spam"]
REMOVED: tuple[State, ...] = ("rejected", "spam")


@dataclass(frozen=True, slots=True)
class SourceThread:
    """A thread as the source names it (`ref`, what its comments point to)
    and the loibinh thread id it maps to (threads.ThreadMap)."""

    ref: str
    thread: str
    place: str  # where it is in the file, for errors: "line 12", "thread 3"


@dataclass(frozen=True, slots=True)
class SourceComment:
    source_id: str
    thread_ref: str
    parent: str | None  # the parent's source id
    name: str
    email: str  # '' when the source has none
    body: str  # plain text
    created_ms: int
    state: State
    place: str
    # A loibinh export keeps its comments' ids; other sources get new ones.
    own_id: str | None = None
    # Shown in its thread: by default when approved or reported; a loibinh
    # export says so itself (a post-moderated comment is shown while pending).
    published: bool | None = None
    # Why it was held or flagged (comma-separated), as a loibinh export
    # says; None for the other formats, whose comments say `imported:<format>`.
    reasons: str | None = None

    @property
    def visible(self) -> bool:
        if self.published is not None:
            return self.published
        return self.state in ("approved", "reported")


Item = SourceThread | SourceComment


class Progress(Protocol):
    """Told how far a long import has got (the command line draws a bar)."""

    def start(self, what: str, total: int, unit: str = "comments") -> None: ...

    def advance(self, amount: int) -> None: ...


class NoProgress:
    def start(self, what: str, total: int, unit: str = "comments") -> None:
        pass

    def advance(self, amount: int) -> None:
        pass
