"""Rate limits: which limits a request is charged, how they travel to the Lua
scripts (gcra.lua does the counting), and the IETF RateLimit header fields
(draft-ietf-httpapi-ratelimit-headers-10) that report them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.errors import LoibinhError
from service.settings import RateLimit, RoutePolicies
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


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit applied to one subject: `name` is the policy's public name."""

    name: str
    key: str
    rate: RateLimit


@dataclass(frozen=True, slots=True)
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
    for dimension in DIMENSIONS:
        rate = getattr(policies, dimension)
        subject = subjects.get(dimension)
        if rate is not None and subject is not None:
            name = f"{route}-{dimension}"
            limits.append(Limit(name, keys.rate(name, subject), rate))
    return limits


def script_keys(limits: Sequence[Limit]) -> list[str]:
    return [limit.key for limit in limits]


def script_args(limits: Sequence[Limit]) -> list[int]:
    args = [len(limits)]
    for limit in limits:
        args += [limit.rate.emission_ms, limit.rate.burst_size]
    return args


def parse_usage(limits: Sequence[Limit], flat: Sequence[bytes | int]) -> list[Usage]:
    """Pairs of (remaining, reset ms) as gcra.lua returns them, one per limit."""
    return [Usage(limit, int(flat[2 * i]), int(flat[2 * i + 1])) for i, limit in enumerate(limits)]


def seconds(ms: int) -> int:
    """Whole seconds, rounded up: telling a client to come back early only earns a 429."""
    return max(0, math.ceil(ms / 1000))


def policy_header(limits: Sequence[Limit]) -> str:
    return ", ".join(
        f'"{limit.name}";q={limit.rate.limit};w={_number(limit.rate.period)}' for limit in limits
    )


def usage_header(usage: Sequence[Usage]) -> str:
    return ", ".join(f'"{u.limit.name}";r={u.remaining};t={seconds(u.reset_ms)}' for u in usage)


def _number(value: float) -> int:
    # The draft's w is an integer number of seconds; a fractional window rounds up.
    return math.ceil(value)


def refusal(limits: Sequence[Limit], reply: Sequence[bytes | int]) -> RateLimited:
    """The error for a script's `rate_limited` reply (gcra.lua's gcra_reply:
    outcome, refusing limit's index from 1, retry ms, then the usage)."""
    refused, retry_ms = limits[int(reply[1]) - 1], int(reply[2])
    detail = f"the limit {refused.name!r} is reached; retry in {seconds(retry_ms)} s"
    return RateLimited(detail, seconds(retry_ms), parse_usage(limits, reply[3:]))


@dataclass(slots=True)
class Meter:
    """What a request on a limited route reports in its RateLimit header
    fields: the limits that apply to it, and their usage once known."""

    limits: list[Limit]
    usage: list[Usage] | None = None

    def report(self, usage: list[Usage]) -> None:
        """The usage a script reported, and with it the limits it charged
        (they can grow once the script knows more, a report's thread say)."""
        self.limits = [u.limit for u in usage]
        self.usage = usage

    def headers(self) -> dict[str, str]:
        headers = {"RateLimit-Policy": policy_header(self.limits)}
        if self.usage:
            headers["RateLimit"] = usage_header(self.usage)
        return headers
