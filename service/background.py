"""Background tasks of a running app: started with it, stopped with it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

STOP_RETRY_SECONDS = 0.5


def checkpoint() -> None:
    """Re-raise a cancellation that a library swallowed.

    redis-py can lose a cancellation that lands while a command is in flight
    (the command returns normally); a `while True` loop would then go on for
    ever and hang the app's shutdown. Loops call this once per round.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        # Cancel until it ends: one cancellation can be swallowed (above).
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_RETRY_SECONDS)
        with contextlib.suppress(asyncio.CancelledError):
            await task
