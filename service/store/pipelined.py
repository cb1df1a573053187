"""One connection to the master that a worker's script calls share: each
command is written as it comes, without waiting for the replies before it,
and Redis, which answers a connection's commands in the order it read them,
has each reply matched to the oldest caller still waiting (pipelining).

A pooled redis-py connection cost about a fifth of the accept path's CPU
around its one EVALSHA: taking and returning the connection, a task per
write (wait_for), the read's own timeout context and reader. Here a call is
a write, a future and a timer, and the replies are parsed by hiredis as
they arrive, in the protocol's callback.

Not for blocking commands: WAIT holds its connection until the replicas
answer, so the calls that WAIT take a pooled connection of their own, and so
does everything on a cluster (scripts.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import hiredis
from redis._parsers import BaseParser
from redis.asyncio.connection import ConnectionPool
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import (
    ConnectionError,
    InvalidResponse,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
)


class _Line(asyncio.Protocol):
    """One open connection and its callers, oldest first, each with the
    loop time at which it stops waiting.

    A line that failed a caller in a way that leaves the stream in doubt (a
    reply that never came, a demoted master) is retired: new calls open
    another, and it is closed once none of its callers waits any more. Its
    callers still in the queue keep their own timeouts, so none is told
    "unavailable" before its script's deadline has passed (a script that
    runs later refuses to store, comments.py).
    """

    def __init__(self, writer: asyncio.StreamWriter, sentinel: bool) -> None:
        # The stream that opened the socket is kept, unused: collected, it
        # would close the socket.
        self._writer = writer
        self._transport = transport = writer.transport
        self._loop = asyncio.get_running_loop()
        self._reader = hiredis.Reader(
            protocolError=InvalidResponse, replyError=BaseParser.parse_error
        )
        self._sentinel = sentinel
        self._waiting: deque[tuple[float, asyncio.Future[Any]]] = deque()
        # One timer for all the callers, set for the oldest one's time, so
        # that a call costs no timer of its own: when it fires it times out
        # whoever is due and is set again for the oldest left.
        self._timer: asyncio.TimerHandle | None = None
        self.usable = True
        host, port, *_ = transport.get_extra_info("peername") or ("redis", 0)
        self.name = f"{host}:{port}" if port else str(host)

    def send(self, packed: bytes, timeout: float) -> asyncio.Future[Any]:
        """The future of the command's reply, failed once `timeout` has passed."""
        if self._transport.is_closing():
            self.usable = False
            raise ConnectionError(f"the connection to {self.name} is closed")
        # Written at once, never awaited: a Redis that stops reading shows as
        # replies that do not come, which the timeouts catch.
        self._transport.write(packed)
        loop = self._loop
        future = loop.create_future()
        due = loop.time() + timeout
        self._waiting.append((due, future))
        if self._timer is None:
            self._timer = loop.call_at(due, self._time_out)
        return future

    def data_received(self, data: bytes) -> None:
        reader, waiting = self._reader, self._waiting
        try:
            reader.feed(data)
            while (reply := reader.gets()) is not False:
                if not waiting:
                    raise InvalidResponse("a reply that no command asked for")
                future = waiting.popleft()[1]
                if future.done():
                    continue  # its caller gave up: timed out or cancelled
                if isinstance(reply, ResponseError):
                    future.set_exception(self._failure(reply))
                else:
                    future.set_result(reply)
        except InvalidResponse as exc:
            self.close(ConnectionError(f"unreadable reply from {self.name}: {exc}"))
            return
        if not self.usable:
            self._close_if_idle()

    def _failure(self, reply: ResponseError) -> Exception:
        if isinstance(reply, ReadOnlyError):
            # The master was demoted: the next line asks the sentinels anew.
            self.usable = False
            if self._sentinel:
                # What redis-py's Sentinel connection says of it too.
                return ConnectionError("The previous master is now a slave")
        return reply

    def _time_out(self) -> None:
        self._timer = None
        now = self._loop.time()
        for due, future in self._waiting:
            if due > now:
                self._timer = self._loop.call_at(due, self._time_out)
                break
            if not future.done():
                future.set_exception(TimeoutError(f"Timeout reading from {self.name}"))
                # Late or lost, its reply holds up every later one.
                self.usable = False
        if not self.usable:
            self._close_if_idle()

    def _close_if_idle(self) -> None:
        if all(future.done() for _, future in self._waiting):
            self.close(ConnectionError(f"the connection to {self.name} was retired"))

    def close(self, error: Exception) -> None:
        self.usable = False
        self._transport.close()
        self._fail(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self._fail(ConnectionError(f"the connection to {self.name} was lost ({exc or 'closed'})"))

    @property
    def idle(self) -> bool:
        return not self._waiting

    def _fail(self, error: Exception) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            future = self._waiting.popleft()[1]
            if not future.done():
                future.set_exception(error)


class PipelinedConnection:
    """The shared connection, opened on first use and again after a failure,
    through the client's own pool: TLS, AUTH, SELECT and (on Sentinel) the
    master's address are redis-py's, then the socket is taken over."""

    def __init__(self, pool: ConnectionPool, timeout: float) -> None:
        self._pool = pool
        self._timeout = timeout
        self._sentinel = isinstance(pool, SentinelConnectionPool)
        self._line: _Line | None = None
        self._lines: set[_Line] = set()
        # The attempt at opening in progress, which every caller that finds
        # no open line waits for: callers that come while Redis does not
        # answer must not queue up an attempt (and its timeout) each.
        self._opening: asyncio.Future[_Line] | None = None
        self._closed = False

    async def call(self, *args: Any) -> Any:
        """The command's reply, its error reply raised; ConnectionError or
        TimeoutError (redis-py's) when Redis cannot be reached in time."""
        return await self.send(hiredis.pack_command(args))

    async def send(self, packed: bytes) -> Any:
        """`call` for a command already packed (packing.py), which must be
        exactly one command: its reply is matched to the next caller."""
        line = self._line
        if line is None or not line.usable:
            line = await self._open()
        return await line.send(packed, self._timeout)

    async def open(self) -> None:
        """Open the connection now, unless it is open."""
        line = self._line
        if line is None or not line.usable:
            await self._open()

    async def _open(self) -> _Line:
        if self._closed:
            raise ConnectionError("the pipelined connection is closed")
        opening = self._opening
        if opening is None:
            opening = self._opening = asyncio.ensure_future(self._connect())
            opening.add_done_callback(self._opened)
        # Shielded: a caller that gives up does not end the others' attempt.
        return await asyncio.shield(opening)

    def _opened(self, opening: asyncio.Future[_Line]) -> None:
        self._opening = None
        if not opening.cancelled():
            opening.exception()  # each waiter has it raised; none may be left

    async def _connect(self) -> _Line:
        connection = self._pool.make_connection()  # type: ignore[no-untyped-call]
        await connection.connect()
        # From here the socket is this line's alone; redis-py's object lets
        # go of it so that it never closes it behind our back.
        writer = connection._writer
        assert writer is not None
        connection._reader = connection._writer = None
        line = _Line(writer, self._sentinel)
        writer.transport.set_protocol(line)
        if self._closed:
            line.close(ConnectionError("the client is closing"))
            raise ConnectionError("the pipelined connection is closed")
        self._lines = {old for old in self._lines if not old.idle} | {line}
        self._line = line
        return line

    async def aclose(self) -> None:
        self._closed = True
        if self._opening is not None:
            await asyncio.wait({self._opening})
        for line in self._lines:
            line.close(ConnectionError("the client is closing"))
        self._lines.clear()
        self._line = None
