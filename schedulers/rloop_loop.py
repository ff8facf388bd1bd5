"""``rloop``: the asyncio API on rloop, an asyncio event loop written in Rust (PyO3 + mio).

The workload is written exactly as for ``asyncio`` (tasks, ``gather``, ``asyncio.sleep``);
only the loop underneath changes, as for ``uvloop``, so the three rows compare loops.

How it sleeps: ``asyncio.sleep`` calls ``loop.call_later``, which rloop turns into an
entry on a binary heap of timers kept in whole microseconds since the loop was created
(``loop.time()`` is that count divided by 10⁶, read from Rust's monotonic ``Instant``,
CLOCK_MONOTONIC on Linux, the clock ``time.perf_counter`` reads). A non-positive delay
becomes ``call_soon``. When nothing is ready the loop polls with mio for the time left to
the earliest timer; mio hands ``epoll_wait`` that timeout in milliseconds, *rounded up*.
``sleep(0)`` is asyncio's bare yield: one trip through rloop's ready queue.

Cost model: the Task and Future machinery is asyncio's own (C-accelerated), as on
uvloop; the ready queue, the timer heap and the handles are Rust, so a switch costs
about what uvloop's does (~1.8 µs CPU per resume at 10,000 rockets on the development
VM, asyncio ~2.8 µs). While callbacks are ready rloop skips the poll for up to 250 µs,
so pure switching rarely enters the kernel. (Source read: rloop's ``src/event_loop.rs``
as of its 0.3.1 tag; the measured and pinned release is 0.5.0, whose timer behaviour
measured the same: sub-ms sleeps late to the next millisecond, never early.)

Where it breaks down: the poll timeout's millisecond rounding makes sub-millisecond
sleeps late by up to ~1 ms (late, not early: the timer fires only once the monotonic
clock has passed its microsecond deadline, and that deadline is computed from a clock
reading taken after the rocket's own). The microsecond truncation of the loop clock
could in principle make a wake up to ~1 µs early; the rocket body reads its deadline
several microseconds before rloop does, which hides it. rloop is young: it covers the
asyncio API this workload uses, not all of it (see its README).

Readiness: the ``asyncio`` row's ``add_reader``/``add_writer`` with a Future, inherited;
rloop implements both methods in Rust on its mio poller.

No virtual clock: rloop reads its own clock in Rust and cannot be handed another one.
rloop has wheels for Linux (glibc) and macOS only; elsewhere the import fails and the
registry lists it as unavailable with the reason.

Counters: like asyncio, rloop does not count resumes, so ``run`` returns ``None``.

Echo servers: the ``asyncio`` row's two variants, ``"streams"`` and ``"protocol"``, on an
rloop loop (rloop 0.5's ``create_server`` takes ``sock=``; rloop sets ``TCP_NODELAY``),
with one workaround. rloop 0.5.0 never closes a connection a server accepted: after
``connection_lost`` the descriptor stays open, so the peer never sees the end of file and
the process keeps one descriptor per connection it ever served (measured: every closed
connection, whatever closed it, ``close``, ``abort`` or end of file). The variants here
therefore shut the socket down (``shutdown(SHUT_RDWR)`` through the transport's
``"socket"``) once the connection is lost, after rloop has flushed what it buffered: the
peer sees the end, and only the descriptor leaks. Closing it ourselves would be unsafe:
rloop still owns it and would close the number again once it were reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import socket
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

import rloop

from schedulers.asyncio_loop import AsyncioScheduler, EchoProtocol, echo_stream, serve_protocol, serve_streams
from schedulers.protocol import EchoServer


def _shut_down(transport: Any) -> None:
    """End the connection for the peer: rloop 0.5.0 leaves its descriptor open (see above)."""
    with contextlib.suppress(OSError, AttributeError):  # already shut, or no socket any more
        transport.get_extra_info("socket").shutdown(socket.SHUT_RDWR)


class ShuttingEchoProtocol(EchoProtocol):
    """``EchoProtocol``, shutting the socket down once rloop reports the connection lost."""

    def connection_lost(self, exc: Exception | None) -> None:
        _shut_down(self.transport)


async def shutting_echo_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """``echo_stream``, then wait until rloop has lost the connection and shut it down."""
    try:
        await echo_stream(reader, writer)  # closes the writer
    finally:
        with contextlib.suppress(Exception):  # whatever the connection ended with
            await writer.wait_closed()
        _shut_down(writer.transport)


class RloopScheduler(AsyncioScheduler):
    """The asyncio workload, line for line; only the loop underneath differs."""

    name: ClassVar[str] = "rloop"
    family: ClassVar[str] = "production"
    timer_note: ClassVar[str] = (
        "monotonic time in microseconds; the poll timeout is rounded up to milliseconds: late, never early"
    )
    supports_virtual_clock: ClassVar[bool] = False  # rloop reads its own clock
    version: ClassVar[str] = importlib.metadata.version("rloop")

    @staticmethod
    def new_event_loop() -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop = rloop.new_event_loop()
        return loop

    echo_servers: ClassVar[Mapping[str, EchoServer]] = {
        "streams": partial(serve_streams, rloop.new_event_loop, handler=shutting_echo_stream),
        "protocol": partial(serve_protocol, rloop.new_event_loop, protocol=ShuttingEchoProtocol),
    }
