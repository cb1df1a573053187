"""Third-party captcha providers: Cloudflare Turnstile, hCaptcha and Google
reCAPTCHA v2 and v3, each checked with its siteverify endpoint over one
shared aiohttp session.

The check fails closed: a provider that cannot be reached, answers late,
answers something that is not its documented JSON, or refuses our own
request (a wrong secret) is CaptchaUnavailable, a 503 that blames nobody;
a token the provider refuses is CaptchaFailed, with the reason in words.
Only Turnstile documents a retry (`internal-error`, and any failed request
when it carries the same `idempotency_key`), so only Turnstile is retried,
once, within the same time budget; the other providers' tokens are single
use, and a second call would only report the first one's use.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import aiohttp
import orjson

from service.errors import CaptchaFailed, CaptchaUnavailable
from service.metrics import Metrics
from service.settings import Site

log = logging.getLogger(__name__)

# A provider's token is at most a few kilobytes (Turnstile: 2048 characters).
MAX_TOKEN = 16_384

# Error codes that are the reader's doing, with what to tell them.
READER_ERRORS = {
    "missing-input-response": "no captcha token was sent; solve the captcha",
    "invalid-input-response": "the captcha token is invalid or expired; solve the captcha again",
    "timeout-or-duplicate": "the captcha token is spent or expired (each is valid once, "
    "for a few minutes); solve the captcha again",
    "expired-input-response": "the captcha token expired; solve the captcha again",
    "already-seen-response": "the captcha token was already used; solve the captcha again",
    "invalid-or-already-seen-response": "the captcha token is invalid or was already used; "
    "solve the captcha again",
}
# Of those, the ones saying the token was already used.
SPENT_ERRORS = {"timeout-or-duplicate", "already-seen-response", "invalid-or-already-seen-response"}
# Error codes that say our request or the site's keys are wrong: never the reader's fault.
CONFIGURATION_ERRORS = {
    "missing-input-secret",
    "invalid-input-secret",
    "sitekey-secret-mismatch",
    "invalid-sitekey",
    "bad-request",
    "missing-remoteip",
    "invalid-remoteip",
    "not-using-dummy-passcode",
    "not-using-dummy-secret",
}
# The provider's own failure; Turnstile says the request may be retried.
RETRYABLE_ERRORS = {"internal-error"}


class Verifier:
    """Checks tokens with the site's provider; one per app, sharing one session."""

    def __init__(self, session: aiohttp.ClientSession, metrics: Metrics) -> None:
        self._session = session
        self._metrics = metrics

    async def verify(self, site_id: str, site: Site, token: str, remote_ip: str | None) -> None:
        """Return if the provider vouches for the token; raise CaptchaFailed
        (the reader's fault) or CaptchaUnavailable (anyone else's) if not."""
        provider = site.captcha_provider
        started = asyncio.get_running_loop().time()
        outcome = "unavailable"
        try:
            await self._verify(site_id, site, token, remote_ip)
            outcome = "passed"
        except CaptchaFailed:
            outcome = "refused"
            raise
        finally:
            elapsed = asyncio.get_running_loop().time() - started
            self._metrics.captcha_checks.labels(site_id, provider, outcome).inc()
            self._metrics.captcha_check_latency.labels(provider).observe(elapsed)

    async def _verify(self, site_id: str, site: Site, token: str, remote_ip: str | None) -> None:
        provider = site.captcha_provider
        if len(token) > MAX_TOKEN:
            raise CaptchaFailed("the captcha token is too long to be one")
        form = {"secret": site.captcha.secret.get_secret_value(), "response": token}
        if remote_ip:
            form["remoteip"] = remote_ip
        if provider == "hcaptcha" and site.captcha.site_key:
            form["sitekey"] = site.captcha.site_key  # hCaptcha checks the pair when given
        attempts = 1
        if provider == "turnstile":
            form["idempotency_key"] = str(uuid.uuid4())
            attempts = 2
        loop = asyncio.get_running_loop()
        deadline = loop.time() + site.captcha.timeout_seconds
        for attempt in range(1, attempts + 1):
            retry = attempt < attempts
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            answer = await self._post(site_id, site, form, remaining, retry)
            if answer is None:
                continue  # a failure the protocol allows retrying
            return self._judge(site_id, site, answer)
        raise CaptchaUnavailable(
            f"the captcha provider ({provider}) did not answer in time; try again shortly"
        )

    async def _post(
        self, site_id: str, site: Site, form: dict[str, str], remaining: float, retry: bool
    ) -> dict[str, Any] | None:
        """The provider's JSON answer; None for a failure that may be retried."""
        provider = site.captcha_provider
        try:
            async with self._session.post(
                site.verify_url, data=form, timeout=aiohttp.ClientTimeout(total=remaining)
            ) as response:
                if response.status >= 500:
                    log.warning("%s siteverify for %s: HTTP %d", provider, site_id, response.status)
                    if retry:
                        return None
                    raise CaptchaUnavailable(
                        f"the captcha provider ({provider}) failed (HTTP {response.status}); "
                        "try again shortly"
                    )
                raw = await response.read()
        except TimeoutError:
            log.warning("%s siteverify for %s timed out", provider, site_id)
            raise CaptchaUnavailable(
                f"the captcha provider ({provider}) did not answer in time; try again shortly"
            ) from None
        except aiohttp.ClientError as exc:
            log.warning("%s siteverify for %s failed: %r", provider, site_id, exc)
            if retry:
                return None
            raise CaptchaUnavailable(
                f"the captcha provider ({provider}) cannot be reached; try again shortly"
            ) from None
        answer = _json_object(raw)
        if answer is None or not isinstance(answer.get("success"), bool):
            log.warning("%s siteverify for %s: not its JSON: %.200r", provider, site_id, raw)
            raise CaptchaUnavailable(
                f"the captcha provider ({provider}) answered unreadably; try again shortly"
            )
        codes = _codes(answer)
        if not answer["success"] and retry and RETRYABLE_ERRORS & set(codes):
            return None
        return answer

    def _judge(self, site_id: str, site: Site, answer: dict[str, Any]) -> None:
        provider = site.captcha_provider
        codes = _codes(answer)
        if not answer["success"]:
            ours = [code for code in codes if code in CONFIGURATION_ERRORS]
            if ours:
                log.error(
                    "%s refused the request for site %s: %s; check the site's captcha keys",
                    provider,
                    site_id,
                    ", ".join(ours),
                )
                raise CaptchaUnavailable(
                    f"the site's captcha ({provider}) is misconfigured; the operator was told"
                )
            if RETRYABLE_ERRORS & set(codes):
                raise CaptchaUnavailable(
                    f"the captcha provider ({provider}) failed internally; try again shortly"
                )
            for code in codes:
                if code in READER_ERRORS:
                    reason = "spent" if code in SPENT_ERRORS else "failed"
                    raise CaptchaFailed(READER_ERRORS[code], reason)
            if codes:
                log.warning("%s for site %s: undocumented codes %s", provider, site_id, codes)
            raise CaptchaFailed(f"the captcha provider ({provider}) refused the token")
        hostnames = site.captcha_hostnames
        hostname = answer.get("hostname")
        if hostnames and isinstance(hostname, str) and hostname not in hostnames:
            raise CaptchaFailed(f"the captcha was solved on another site ({hostname[:100]})")
        expected = site.captcha_action
        if expected is not None and answer.get("action") != expected:
            raise CaptchaFailed("the captcha was solved for another form (its action differs)")
        if provider == "recaptcha-v3":
            score = answer.get("score")
            if not isinstance(score, int | float) or isinstance(score, bool):
                raise CaptchaFailed("the token is not a reCAPTCHA v3 token (it has no score)")
            if score < site.captcha.score_threshold:
                raise CaptchaFailed(
                    "reCAPTCHA judged this request likely automated (its score is below the "
                    "site's threshold); try again"
                )


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _codes(answer: dict[str, Any]) -> list[str]:
    codes = answer.get("error-codes")
    if not isinstance(codes, list):
        return []
    return [code for code in codes if isinstance(code, str)]


def open_session() -> aiohttp.ClientSession:
    """The session every provider call shares: its connections are kept alive."""
    return aiohttp.ClientSession(
        headers={"User-Agent": "loibinh"},
        connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300),
    )
