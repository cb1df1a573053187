"""The RateLimit header fields of a limited route's answer, whatever the
outcome: every such view opens a meter with the limits that apply, and the
edge middleware writes the fields from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from service.errors import LoibinhError, StoreUnavailable
from service.http.state import RATE_METER, SERVICES
from service.store.connection import UNREACHABLE
from service.store.ratelimit import Meter, RateLimited, RateLimits
from service.store.signatures import RatelimitPeekArgs, RatelimitPeekKeys


@asynccontextmanager
async def metered(request: web.Request, limits: RateLimits) -> AsyncIterator[Meter]:
    """A meter for the request; on a refusal, its fields say the usage the
    429 carries, else the quota as it stands (nothing was charged)."""
    meter = Meter(limits)
    request[RATE_METER] = meter
    try:
        yield meter
    except RateLimited as exc:
        meter.report(exc.usage)
        raise
    except StoreUnavailable:
        raise  # Redis is away: nothing to read the quota from
    except LoibinhError:
        await peek(request, meter)
        raise


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
