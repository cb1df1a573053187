"""Which captcha a client answers, and what its answer is worth before the
accept script: the site's provider (image, proof of work or a third party),
escalation to the stronger challenge after failures, and the check of each
kind of answer that can happen outside Redis.

The image's answer and the proof of work's single use are checked inside
the accept script (one atomic call); a third party's token is checked over
HTTP just before it. What the script must then do is a `CaptchaCheck` (store/comments.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from service.captcha import pool, pow
from service.captcha.pool import CaptchaService
from service.captcha.providers import Verifier
from service.errors import CaptchaFailed
from service.keyring import Keyring
from service.models import (
    CaptchaAnswer,
    Challenge,
    ImageChallenge,
    PowAnswer,
    PowChallenge,
    PowParameters,
    ThirdPartyChallenge,
    TokenAnswer,
)
from service.settings import THIRD_PARTY, Settings, Site
from service.store.comments import CaptchaCheck
from service.store.connection import RedisClock, translate_errors
from service.store.keyschema import SiteKeys
from service.store.ratelimit import RateLimits, Usage
from service.store.scripts import Scripts
from service.store.signatures import (
    CaptchaFailureArgs,
    CaptchaFailureKeys,
    CaptchaGateArgs,
    CaptchaGateKeys,
)

log = logging.getLogger(__name__)

# How long a provider's token lives once the widget has it, as documented:
# Turnstile 300 s, reCAPTCHA and hCaptcha two minutes.
TOKEN_SECONDS = {"turnstile": 300, "hcaptcha": 120, "recaptcha-v2": 120, "recaptcha-v3": 120}


@dataclass(frozen=True, slots=True)
class IssuedChallenge:
    """A challenge of whichever kind, and the issue limits' usage."""

    challenge: Challenge
    usage: list[Usage]


def challenge_of(site_id: str, issued: pool.PooledImage) -> ImageChallenge:
    """What a reader is shown of an image challenge (the API and the form page)."""
    return ImageChallenge(
        id=issued.id,
        image=issued.image,
        audio_url=pool.audio_path(site_id, issued),
        expires_in=issued.expires_in,
        form_token=issued.form_token,
    )


class CaptchaGate:
    def __init__(
        self,
        scripts: Scripts,
        keyring: Keyring,
        settings: Settings,
        images: CaptchaService,
        verifier: Verifier,
        clock: RedisClock,
    ) -> None:
        self._scripts = scripts
        self._keyring = keyring
        self._settings = settings
        self._images = images
        self._verifier = verifier
        self._clock = clock

    def _keys(self, site_id: str) -> SiteKeys:
        return SiteKeys(self._settings.redis.key_prefix, site_id)

    @translate_errors
    async def issue(
        self, site_id: str, site: Site, ip_hash: str, limits: RateLimits
    ) -> IssuedChallenge:
        """A challenge of the site's kind, or the stronger one for an escalated client."""
        provider = site.captcha_provider
        if provider == "image":
            return await self._image(site_id, limits)
        stronger = site.escalates_to
        result = await self._scripts.captcha_gate(
            CaptchaGateKeys(self._keys(site_id).captcha_failures(ip_hash), limits),
            CaptchaGateArgs(
                escalate_after=site.captcha.escalate_after if stronger else 0,
                charge_escalated=int(stronger == "pow"),
                limit_args=limits,
            ),
        )
        usage = limits.settle(result)
        outcome = result[0]
        if outcome == b"escalated":
            if stronger == "image":
                return await self._image(site_id, limits)
            return IssuedChallenge(
                self._pow(site_id, site, site.captcha.pow.escalated_maxnumber), usage
            )
        if provider == "pow":
            return IssuedChallenge(self._pow(site_id, site, site.captcha.pow.maxnumber), usage)
        challenge = ThirdPartyChallenge(
            kind=provider,
            site_key=site.captcha.site_key or "",
            action=site.captcha_action if provider == "recaptcha-v3" else None,
            expires_in=TOKEN_SECONDS[provider],
            form_token=self._images.form_token(site_id),
        )
        return IssuedChallenge(Challenge(challenge), usage)

    async def _image(self, site_id: str, limits: RateLimits) -> IssuedChallenge:
        issued = await self._images.issue(site_id, limits)
        return IssuedChallenge(Challenge(challenge_of(site_id, issued)), issued.usage)

    def _pow(self, site_id: str, site: Site, maxnumber: int) -> Challenge:
        seconds = site.captcha.pow.expires_seconds
        expires_at = self._clock.now_ms() // 1000 + seconds
        made = pow.make_challenge(self._keyring.pow, maxnumber, expires_at)
        parameters = PowParameters(
            algorithm="SHA-256",
            challenge=made.challenge,
            maxnumber=made.maxnumber,
            salt=made.salt,
            signature=made.signature,
        )
        challenge = PowChallenge(
            pow=parameters, expires_in=seconds, form_token=self._images.form_token(site_id)
        )
        return Challenge(challenge)

    async def check(
        self,
        site_id: str,
        site: Site,
        answer: CaptchaAnswer | PowAnswer | TokenAnswer,
        remote_ip: str | None,
        ip_hash: str,
        idempotent: bool,
    ) -> CaptchaCheck:
        """What can be checked of an answer before the accept script: raises
        CaptchaFailed (counted towards escalation) or CaptchaUnavailable."""
        if isinstance(answer, CaptchaAnswer):
            # Image challenges exist only where this service issued them:
            # on image sites, and to escalated clients of the others.
            digest = self._keyring.captcha_answer(site_id, answer.id, answer.answer)
            return CaptchaCheck("image", answer.id, digest)
        provider = site.captcha_provider
        if isinstance(answer, PowAnswer):
            if provider != "pow":
                raise CaptchaFailed(f"this site's captcha is {provider}, not proof of work")
            try:
                solution = pow.verify(self._keyring.pow, answer.pow, self._clock.now_ms())
            except CaptchaFailed:
                await self.count_failure(site_id, site, ip_hash)
                raise
            strong = solution.maxnumber >= site.captcha.pow.escalated_maxnumber
            return CaptchaCheck(
                "strong-pow" if strong else "pow",
                spent_key=self._keys(site_id).pow_spent(solution.challenge),
                spent_ttl_ms=solution.ttl_ms,
            )
        if provider not in THIRD_PARTY:
            raise CaptchaFailed(f"this site's captcha is {provider}, not a third-party token")
        try:
            await self._verifier.verify(site_id, site, answer.token, remote_ip)
        except CaptchaFailed as exc:
            if exc.reason == "spent" and idempotent:
                # Perhaps the retry of a submission already stored: the
                # accept script answers with the first answer if so.
                return CaptchaCheck("spent")
            await self.count_failure(site_id, site, ip_hash)
            raise
        return CaptchaCheck("token")

    @translate_errors
    async def count_failure(self, site_id: str, site: Site, ip_hash: str) -> None:
        """A failed answer refused before the accept script counts towards escalation."""
        if site.escalates_to is None:
            return
        await self._scripts.captcha_failure(
            CaptchaFailureKeys(self._keys(site_id).captcha_failures(ip_hash)),
            CaptchaFailureArgs(site.captcha.escalate_window_seconds * 1000),
        )
