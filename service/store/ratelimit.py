"""Rate limits: which limits a request is charged, how they travel to the Lua
scripts (gcra.lua does the counting), and the IETF RateLimit header fields
(draft-ietf-httpapi-ratelimit-headers-10) that report them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.errors import LoibinhError
from service.settings import RateLimit, RoutePolicies, Site
from service.store.keyschema import SiteKeys

# A policy's public name, as the RateLimit fields show it, is its route and
# dimension: "submit-ip", "report-thread", "captcha-site".
DIMENSIONS = ("ip", "email", "thread", "site")
SUBMIT_IP = "submit-ip"
SUBMIT_EMAIL = "submit-email"
# The subject of a site-wide limit: one bucket for everyone.
SITE = "all"
# Those kept per pseudonymised address (an erasure forgets them).
ADDRESS_POLICIES = ("submit-ip", "captcha-ip", "report-ip")


# Limit, Usage and RateLimits are made several times for every request and
# live for that request: not frozen, as a frozen dataclass sets each field
# through object.__setattr__, which costs three times as much.
@dataclass(slots=True)
class Limit:
    """One limit applied to one subject: `name` is the policy's public name."""

    name: str
    key: str
    rate: RateLimit


@dataclass(slots=True)
class Usage:
    limit: Limit
    remaining: int
    reset_ms: int


class RateLimited(LoibinhError):
    """A limit is reached: nothing was charged or stored."""

    def __init__(self, detail: str, retry_after: int, usage: list[Usage]) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.usage = usage


def route_limits(
    keys: SiteKeys, route: str, policies: RoutePolicies, subjects: dict[str, str]
) -> list[Limit]:
    """The limits a request is charged: every dimension the route's policies
    set and the request names a subject for (an email once the body is read)."""
    limits = []
    for dimension, name, rate in _plan(route, policies):
        subject = subjects.get(dimension)
        if subject is not None:
            limits.append(Limit(name, keys.rate(name, subject), rate))
    return limits


# What settings decide is made once, not for each request that is charged:
# a route's limits (dimension, public name, rate) per policies object, and
# each rate's script arguments and RateLimit-Policy parameters. Both are
# keyed by the object's identity and keep the object, so an id is never
# reused while its entry lives; settings are few, the bound only keeps a
# misuse from growing without end.
_MEMO_MAX = 1024
_PLANS: dict[tuple[str, int], tuple[RoutePolicies, tuple[tuple[str, str, RateLimit], ...]]] = {}
_RATES: dict[int, tuple[RateLimit, int, int, str]] = {}


def _plan(route: str, policies: RoutePolicies) -> tuple[tuple[str, str, RateLimit], ...]:
    made = _PLANS.get((route, id(policies)))
    if made is None or made[0] is not policies:
        plan = []
        for dimension in DIMENSIONS:
            rate = getattr(policies, dimension)
            if rate is not None:
                plan.append((dimension, f"{route}-{dimension}", rate))
        if len(_PLANS) >= _MEMO_MAX:
            _PLANS.clear()
        made = _PLANS[(route, id(policies))] = (policies, tuple(plan))
    return made[1]


def _rate(rate: RateLimit) -> tuple[RateLimit, int, int, str]:
    """The rate, its emission interval and burst (gcra.lua's pair), and its
    RateLimit-Policy parameters."""
    made = _RATES.get(id(rate))
    if made is None or made[0] is not rate:
        if len(_RATES) >= _MEMO_MAX:
            _RATES.clear()
        made = _RATES[id(rate)] = (
            rate,
            rate.emission_ms,
            rate.burst_size,
            f"q={rate.limit};w={_number(rate.period)}",
        )
    return made


@dataclass(slots=True)
class RateLimits:
    """The limits one request is charged, and the protocol every charging
    script shares with gcra.lua: the limits' keys end the script's KEYS,
    their count and (emission, burst) pairs end its ARGV, and its reply is
    an outcome, two values, then (remaining, reset ms) per limit. This is the
    one place that knows that layout."""

    limits: tuple[Limit, ...]

    @classmethod
    def of(cls, limits: Sequence[Limit]) -> RateLimits:
        return cls(tuple(limits))

    @property
    def keys(self) -> list[str]:
        return [limit.key for limit in self.limits]

    @property
    def args(self) -> list[int]:
        args = [len(self.limits)]
        for limit in self.limits:
            args += _rate(limit.rate)[1:3]
        return args

    def usage(self, flat: Sequence[bytes | int]) -> list[Usage]:
        """Pairs of (remaining, reset ms) as gcra_usage returns them, one per limit."""
        return [
            Usage(limit, int(flat[2 * i]), int(flat[2 * i + 1]))
            for i, limit in enumerate(self.limits)
        ]

    def settle(self, reply: Sequence[Any]) -> list[Usage]:
        """The usage a charging script's reply reports (gcra_reply), or the
        refusal it stands for raised."""
        if reply[0] == b"rate_limited":
            raise self.refusal(reply)
        return self.usage(reply[3:])

    def refusal(self, reply: Sequence[bytes | int]) -> RateLimited:
        """The error for a `rate_limited` reply: outcome, the refusing
        limit's index from 1, retry ms, then the usage."""
        refused, retry_ms = self.limits[int(reply[1]) - 1], int(reply[2])
        detail = f"the limit {refused.name!r} is reached; retry in {seconds(retry_ms)} s"
        return RateLimited(detail, seconds(retry_ms), self.usage(reply[3:]))


def submit_limits(
    keys: SiteKeys,
    site: Site,
    ip_hash: str,
    email_hash: str | None = None,
    thread: str | None = None,
) -> RateLimits:
    """The submit route's limits: address and site at once, email and
    thread once the body has been read."""
    subjects = {"ip": ip_hash, "site": SITE}
    if email_hash is not None and thread is not None:
        subjects |= {"email": email_hash, "thread": thread}
    return RateLimits.of(route_limits(keys, "submit", site.rate_limits.submit, subjects))


def report_limits(keys: SiteKeys, site: Site, ip_hash: str, thread: str | None) -> RateLimits:
    """The report route's limits: the thread's once the comment's thread is known."""
    subjects = {"ip": ip_hash, "site": SITE}
    if thread is not None:
        subjects["thread"] = thread
    return RateLimits.of(route_limits(keys, "report", site.rate_limits.report, subjects))


def captcha_limits(keys: SiteKeys, site: Site, ip_hash: str) -> RateLimits:
    """The captcha issue route's limits: per address and for the whole site."""
    subjects = {"ip": ip_hash, "site": SITE}
    return RateLimits.of(route_limits(keys, "captcha", site.rate_limits.captcha, subjects))


def seconds(ms: int) -> int:
    """Whole seconds, rounded up: telling a client to come back early only earns a 429."""
    return max(0, math.ceil(ms / 1000))


def policy_header(limits: Sequence[Limit]) -> str:
    return ", ".join([f'"{limit.name}";{_rate(limit.rate)[3]}' for limit in limits])


def usage_header(usage: Sequence[Usage]) -> str:
    return ", ".join([f'"{u.limit.name}";r={u.remaining};t={seconds(u.reset_ms)}' for u in usage])


def _number(value: float) -> int:
    # The draft's w is an integer number of seconds; a fractional window rounds up.
    return math.ceil(value)


@dataclass(slots=True)
class Meter:
    """What a request on a limited route reports in its RateLimit header
    fields: the limits that apply to it, and their usage once known."""

    limits: RateLimits
    usage: list[Usage] | None = None

    def report(self, usage: list[Usage]) -> None:
        """The usage a script reported, and with it the limits it charged
        (they can grow once the script knows more, a report's thread say)."""
        self.limits = RateLimits.of([u.limit for u in usage])
        self.usage = usage

    def headers(self) -> dict[str, str]:
        headers = {"RateLimit-Policy": policy_header(self.limits.limits)}
        if self.usage:
            headers["RateLimit"] = usage_header(self.usage)
        return headers
