"""The submission use case: a comment read from a request (JSON or a plain
form, by the HTTP layer) taken through every check in the order they must
run: the limits that apply once the body names an email and a thread, the
form token, the captcha (over HTTP for a third party), the text's screening
(the rules and the site's learned model), then the one accept script call
that charges, checks and stores atomically.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.captcha.gate import CaptchaGate
from service.clock import now_ms
from service.identity.tokens import Reader
from service.keyring import Keyring
from service.models import Submission
from service.moderation.learning import SiteModels
from service.screening import formtoken
from service.screening.learned import screen_comment
from service.screening.screen import Screen
from service.settings import Site
from service.store.comments import CaptchaCheck, CommentStore, Stored, Subject
from service.store.ratelimit import Meter, RateLimits, submit_limits
from service.store.readcache import ReadCache


@dataclass(frozen=True, slots=True)
class Client:
    """Who sends a request, as the service may know them: the keyed hash of
    their address (IPv4 exactly, IPv6 by its network prefix), and the
    address itself only for a captcha provider to be told (None: unknown)."""

    ip_hash: str
    remote: str | None


class Submissions:
    def __init__(
        self,
        store: CommentStore,
        gate: CaptchaGate,
        keyring: Keyring,
        screens: dict[str, Screen],
        models: SiteModels,
        read_cache: ReadCache | None = None,
    ) -> None:
        self._store = store
        self._gate = gate
        self._keyring = keyring
        self._screens = screens
        self._models = models
        self._read_cache = read_cache

    def first_limits(self, site_id: str, site: Site, client: Client) -> RateLimits:
        """The limits known before the body is read: the address and the site."""
        return submit_limits(self._store.keys(site_id), site, client.ip_hash)

    async def submit(
        self,
        site_id: str,
        site: Site,
        submission: Submission,
        client: Client,
        idempotency_key: str | None,
        meter: Meter,
        reader: Reader | None = None,
    ) -> Stored:
        """Raises the domain error of the first check that refuses; a refusal
        stores nothing (the accept script's own refusals included). A
        `reader` signed in with a verified token answers no captcha, and is
        limited, trusted and banned by their user id instead of an email."""
        keyring = self._keyring
        if reader is None:
            author_hash = keyring.email_hash(site_id, submission.author.email)
        else:
            author_hash = keyring.user_hash(site_id, reader.user_id)
        keys = self._store.keys(site_id)
        meter.limits = submit_limits(keys, site, client.ip_hash, author_hash, submission.thread)
        form = formtoken.check(keyring.form, site_id, submission.form_token, now_ms(), site.abuse)
        if submission.captcha is None:
            # Only a verified reader's submission comes without one (models.Submission).
            captcha = CaptchaCheck("signed-in")
            if not submission.form_token:
                form = formtoken.FormCheck(())  # no captcha was fetched, so no form token came
        else:
            captcha = await self._gate.check(
                site_id,
                site,
                submission.captcha,
                client.remote,
                client.ip_hash,
                idempotency_key is not None,
            )
        # The rules and the site's learned model, as this worker holds it: no Redis call.
        screened = screen_comment(
            self._screens[site_id],
            self._models.current(site_id),
            site,
            submission.author.name,
            submission.body,
            submission.website,
            form.signals,
        )
        probability = screened.signal.probability if screened.signal else None
        idempotency_hash = (
            keyring.idempotency_hash(site_id, client.ip_hash, idempotency_key)
            if idempotency_key
            else None
        )
        stored = await self._store.accept(
            site_id,
            site,
            submission,
            Subject(client.ip_hash, author_hash, reader.user_id if reader else ""),
            meter.limits,
            captcha,
            idempotency_hash,
            screened.assessment,
            form,
            probability,
        )
        if stored.status == "approved" and self._read_cache is not None:
            # Published at once: the widget reloads the thread to show it.
            self._read_cache.forget(site_id, (submission.thread,))
        return stored
