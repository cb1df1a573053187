"""Every Redis key loibinh uses, built in one place.

Each key of a site carries the hash tag `{site-id}`, so every key one script
touches hashes to the same Redis Cluster slot and every script runs unchanged
on Cluster (DESIGN.md invariant 5).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SiteKeys:
    prefix: str
    site: str

    @property
    def _base(self) -> str:
        return f"{self.prefix}:{{{self.site}}}"

    def comment(self, comment_id: str) -> str:
        """Hash: one comment, every field a moderator sees (email included)."""
        return f"{self._base}:c:{comment_id}"

    @property
    def pending(self) -> str:
        """Sorted set of comment ids waiting for a moderator, scored by arrival (ms)."""
        return f"{self._base}:q:pending"

    @property
    def published(self) -> str:
        """Sorted set of ids published without review (post-moderation), still to be
        reviewed, scored by arrival (ms)."""
        return f"{self._base}:q:review"

    def thread(self, thread: str) -> str:
        """Sorted set of a thread's approved comment ids, all scored 0 so that
        ZRANGE BYLEX pages them by id, and ids sort by creation time."""
        return f"{self._base}:tz:{thread}"

    def thread_public(self, thread: str) -> str:
        """Hash id -> the public JSON of each approved comment of a thread, made
        at submission, so a read serves stored bytes and cannot leak a field
        it never held."""
        return f"{self._base}:tp:{thread}"

    @property
    def trusted(self) -> str:
        """Set of email hashes with an approved comment: `first-comment` mode
        publishes these authors at once."""
        return f"{self._base}:trusted"

    def idempotency(self, key_hash: str) -> str:
        """String: the first answer to a submission carrying this Idempotency-Key."""
        return f"{self._base}:idem:{key_hash}"

    def rate(self, policy: str, subject_hash: str) -> str:
        """String: a GCRA theoretical arrival time (ms) for one policy and subject."""
        return f"{self._base}:rl:{policy}:{subject_hash}"

    @property
    def captcha_pool(self) -> str:
        """List of pre-rendered challenges never issued yet: `id hmac base64png`."""
        return f"{self._base}:cap:pool"

    @property
    def captcha_live(self) -> str:
        """Hash id -> HMAC of the answer, for challenges issued and not yet answered."""
        return f"{self._base}:cap:live"

    @property
    def captcha_expiry(self) -> str:
        """Sorted set id -> expiry (ms) of live challenges, to expire hash fields
        (Redis 7.0 has no per-field TTL)."""
        return f"{self._base}:cap:exp"

    @property
    def captcha_refill_lock(self) -> str:
        """String with a short TTL: one service worker renders for this site at a time."""
        return f"{self._base}:cap:lock"
