"""Every Redis key loibinh uses, built in one place.

Each key of a site carries the hash tag `{site-id}`, so every key one script
touches hashes to the same Redis Cluster slot and every script runs unchanged
on Cluster (the contract's invariant 5, docs/contract.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class GlobalKeys:
    """Keys that belong to no one site, under their own hash tag."""

    prefix: str

    def api_key(self, key_id: str) -> str:
        """Hash: one moderator or admin API key (name, role, sites, keyed hash of
        the secret, times); the secret itself is never stored."""
        return f"{self.prefix}:{{keys}}:k:{key_id}"

    @property
    def api_keys(self) -> str:
        """Set of every API key id, for `loibinh keys list`."""
        return f"{self.prefix}:{{keys}}:all"

    def signin_failures(self, client_hash: str) -> str:
        """String: failed moderation sign-ins of one client address (keyed
        hash), expiring with the window that its first failure started."""
        return f"{self.prefix}:{{signin}}:f:{client_hash}"

    @property
    def learner_lease(self) -> str:
        """String: the worker that holds the learner (its id), with the lease
        as TTL, so that one process in a deployment trains at a time."""
        return f"{self.prefix}:{{learner}}:lease"


@dataclass(frozen=True, slots=True)
class SiteKeys:
    prefix: str
    site: str
    # What every key of the site starts with, made once: the accept call
    # builds some thirty keys.
    _base: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_base", f"{self.prefix}:{{{self.site}}}")

    def comment(self, comment_id: str) -> str:
        """Hash: one comment, every field a moderator sees (email included)."""
        return f"{self._base}:c:{comment_id}"

    @property
    def pending(self) -> str:
        """Sorted set of comment ids waiting for a moderator, all scored 0: they
        sort by id, and ids sort by time (ids.py), so oldest first."""
        return f"{self._base}:q:pending"

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
        """List of pre-rendered challenges never issued yet: `id hmac base64png`,
        or with a spoken clip `id hmac:spokenhmac base64png wav`."""
        return f"{self._base}:cap:pool"

    @property
    def captcha_live(self) -> str:
        """Hash id -> HMAC of the answer (`image:spoken` with a clip), for
        challenges issued and not yet answered; `id/audio` -> the clip (WAV),
        `id/plays` -> times it was played. Answering deletes all three."""
        return f"{self._base}:cap:live"

    @property
    def captcha_expiry(self) -> str:
        """Sorted set id -> expiry (ms) of live challenges, to expire hash fields
        (Redis 7.0 has no per-field TTL)."""
        return f"{self._base}:cap:exp"

    def pow_spent(self, challenge: str) -> str:
        """String with the TTL the proof-of-work challenge has left: its
        solution was accepted once and is refused from now on."""
        return f"{self._base}:pow:{challenge}"

    def captcha_failures(self, ip_hash: str) -> str:
        """String with a TTL (the escalation window): failed captcha attempts
        of one pseudonymised address; at the site's threshold the client
        must answer the stronger challenge."""
        return f"{self._base}:cap:fail:{ip_hash}"

    @property
    def captcha_refill_lock(self) -> str:
        """String with a short TTL: one service worker renders for this site at a time."""
        return f"{self._base}:cap:lock"

    def queue(self, state: str) -> str:
        """Sorted set of the comment ids in one moderation state (pending,
        reported, approved, rejected, spam), all scored 0: ids sort by time,
        so ZRANGE BYLEX pages them oldest or newest first by id alone."""
        if state == "pending":
            return self.pending
        return f"{self._base}:q:{state}"

    @property
    def leases(self) -> str:
        """Sorted set id -> lease expiry (ms) of claimed comments; an expired
        score is a free item, so nothing has to run for a lease to end."""
        return f"{self._base}:lease:exp"

    @property
    def lease_owner(self) -> str:
        """Hash id -> the API key id holding the lease."""
        return f"{self._base}:lease:owner"

    def author(self, email_hash: str) -> str:
        """Set of an author's comment ids: for erasure and author-wide decisions."""
        return f"{self._base}:a:{email_hash}"

    @property
    def trusted_always(self) -> str:
        """Set of email hashes a moderator chose to trust: published at once in every mode."""
        return f"{self._base}:trusted:always"

    def ban(self, kind: str, subject_hash: str) -> str:
        """String (with a TTL for timed bans): a ban of an email (`e`) or a
        pseudonymised address (`i`), holding the ban's id."""
        return f"{self._base}:ban:{kind}:{subject_hash}"

    @property
    def bans(self) -> str:
        """Hash ban id -> JSON of the ban (kind, until, reason, who): what admins list."""
        return f"{self._base}:bans"

    def history(self, comment_id: str) -> str:
        """List of JSON events: everything that happened to one comment."""
        return f"{self._base}:h:{comment_id}"

    def reporters(self, comment_id: str) -> str:
        """Set of pseudonymised addresses that reported a comment: distinct readers."""
        return f"{self._base}:r:{comment_id}"

    @property
    def audit(self) -> str:
        """Stream: the append-only log of moderation actions. It holds ids and
        moderators' reasons, never a reader's personal data, because XDEL
        leaves an entry in the RDB and AOF until a rewrite."""
        return f"{self._base}:audit"

    @property
    def outbox_due(self) -> str:
        """Sorted set delivery id -> when (ms) to try it next."""
        return f"{self._base}:wh:due"

    @property
    def outbox(self) -> str:
        """Hash delivery id -> JSON {target, event, attempts, body}."""
        return f"{self._base}:wh:ev"

    def form_token(self, nonce: str) -> str:
        """String with the token's remaining lifetime as TTL: a form token
        already used, so a replayed one is refused."""
        return f"{self._base}:ft:{nonce}"

    def fingerprints(self, window: int) -> str:
        """Hash band -> the text fingerprints (screen.fingerprint) of the
        latest comments sharing that band of their signature, for one
        duplicate window; it expires after the next. It holds no reader data:
        hashes of words, no ids."""
        return f"{self._base}:dup:{window}"

    @property
    def strikes(self) -> str:
        """Hash email hash -> how many of the author's comments were
        rejected or filed as spam: their history weighs on the next one."""
        return f"{self._base}:strikes"

    @property
    def outbox_dead(self) -> str:
        """Sorted set delivery id -> when it was given up, for admins to see."""
        return f"{self._base}:wh:dead"

    @property
    def training(self) -> str:
        """Stream: every decision a moderator or admin made (comment id,
        label, key id), in order, for the learner. Ids and labels only:
        the learner reads the text from the comment itself."""
        return f"{self._base}:train"

    @property
    def model(self) -> str:
        """Hash: the site's learned model (weights), its version, the last
        training entry learned, whether learning is frozen, and counts."""
        return f"{self._base}:model"

    @property
    def model_labels(self) -> str:
        """Hash comment id -> the label the model learned for it, so that a
        reversed decision is corrected rather than learned twice."""
        return f"{self._base}:model:labels"

    @property
    def model_excluded(self) -> str:
        """Set of API key ids whose decisions the model does not learn from."""
        return f"{self._base}:model:excluded"

    def imported(self, source: str) -> str:
        """Hash source id -> comment id of the comments imported from one
        format (disqus, wordpress, isso, loibinh): a second run of the same
        file skips what is here. It outlives an erasure, so that a re-run
        cannot bring erased comments back; it holds no reader data."""
        return f"{self._base}:import:{source}"

    @property
    def mail_due(self) -> str:
        """Sorted set message id -> when (ms) to try sending it next."""
        return f"{self._base}:mail:due"

    @property
    def mail_queue(self) -> str:
        """Hash message id -> JSON of a reply notification or confirmation
        waiting to be sent (recipient, subject, text, html, attempts): the
        address is held only until the message is sent or given up."""
        return f"{self._base}:mail:q"

    @property
    def mail_dead(self) -> str:
        """Sorted set message id -> when it was given up."""
        return f"{self._base}:mail:dead"

    @property
    def mail_confirmed(self) -> str:
        """Set of email hashes that confirmed they want reply notifications
        (double opt-in); an unsubscribe or an erasure removes one."""
        return f"{self._base}:mail:ok"

    def mail_subscriptions(self, email_hash: str) -> str:
        """Set of the comment ids whose replies an address asked to be told
        of: what an unsubscribe or an erasure clears."""
        return f"{self._base}:mail:subs:{email_hash}"

    def mail_asked(self, email_hash: str) -> str:
        """String with the confirmation link's lifetime as TTL: a confirmation
        was sent to this address, so another request sends none until it expires."""
        return f"{self._base}:mail:asked:{email_hash}"
