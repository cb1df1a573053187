"""The RateLimit header fields of a limited route's answer, whatever the
outcome: every such view opens a meter with the limits that apply, and the
edge middleware writes the fields from it."""

from __future__ import annotations

from aiohttp import web

from service.errors import LoibinhError, StoreUnavailable
from service.http.state import RATE_METER, SERVICES
from service.store.connection import UNREACHABLE
from service.store.ratelimit import Meter, RateLimited, RateLimits
from service.store.signatures import RatelimitPeekArgs, RatelimitPeekKeys


def metered(request: web.Request, limits: RateLimits) -> Metered:
    """A meter for the request; on a refusal, its fields say the usage the
    429 carries, else the quota as it stands (nothing was charged)."""
    return Metered(request, limits)


class Metered:
    """`metered`'s context, written out rather than as a generator-based
    context manager: it wraps every submission, and this costs a third as much."""

    __slots__ = ("_meter", "_request")

    def __init__(self, request: web.Request, limits: RateLimits) -> None:
        self._request = request
        self._meter = Meter(limits)

    async def __aenter__(self) -> Meter:
        self._request[RATE_METER] = self._meter
        return self._meter

    async def __aexit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, RateLimited):
            self._meter.report(exc.usage)
        elif isinstance(exc, LoibinhError) and not isinstance(exc, StoreUnavailable):
            # Redis away (StoreUnavailable): nothing to read the quota from.
            await peek(self._request, self._meter)


async def peek(request: web.Request, meter: Meter) -> None:
    """The quota as it stands, for an answer no script charged. Best effort:
    the answer itself matters more than its RateLimit field."""
    if meter.usage is not None:
        return
    limits = meter.limits
    try:
        flat = await request.app[SERVICES].scripts.ratelimit_peek(
            RatelimitPeekKeys(limits), RatelimitPeekArgs(limits)
        )
    except UNREACHABLE:
        return
    meter.usage = limits.usage(flat)
