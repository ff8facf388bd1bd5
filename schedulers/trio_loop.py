"""``trio``: one trio nursery running every rocket, ``trio.sleep`` as the sleep.

The workload is written as a trio user would write it: ``trio.run`` a main task that opens
a nursery and ``start_soon``s one task per rocket. The harness hands ``run`` coroutine
objects it has already created, while ``start_soon`` wants an async function, so each one
is started through ``_await`` (one extra frame per task, none per switch beyond the await
delegation).

How it sleeps: ``trio.sleep(s)`` is a cancel scope with a deadline on trio's deadline heap;
the run loop blocks in epoll until the earliest one (``select.epoll.poll`` rounds the
timeout *up* to whole milliseconds, so sub-millisecond sleeps wake late, never early).
``trio.sleep(0)`` is a checkpoint: one trip through the run queue.

Cost model: every switch goes through trio's ``Task`` machinery: the run queue batch
(reversed at random each pass, on purpose, so no code comes to rely on an order), the
cancel-scope bookkeeping, ``reschedule`` with an ``Outcome``. It is the most featureful
loop here and the most expensive per switch.

Time: trio reads time only through a ``trio.abc.Clock``. ``HarnessClock`` adapts the
harness clock to that interface, so trio's deadlines and the rocket bodies' lateness are
measured on one time line. On a real clock the adapter just reports the time left and
trio blocks in epoll as usual. On a clock that only moves when waited on (the harness's
virtual clock), ``deadline_to_sleep_time`` first advances the clock to the deadline with
``clock.wait`` and then tells trio there is nothing left to sleep: trio's own
``MockClock(autojump_threshold=0)`` does the same jump, but reads a time line of its own
that the bodies could not see, and trio only autojumps a ``MockClock``.

Readiness: ``trio.lowlevel.wait_readable``/``wait_writable``, trio's own primitives (the
run loop keeps each socket registered in epoll while it is waited on and turns readiness
into a ``reschedule``); one waiter per direction and socket, as the contract allows.

Counters: trio does not count resumes, so ``run`` returns ``None``.

Echo server (``echo_servers``, one variant): ``trio.serve_listeners`` over a
``trio.SocketListener`` of ``trio.socket.from_stdlib_socket(listener)``, a handler task per
connection echoing with ``receive_some``/``send_all``; trio's ``SocketStream`` sets
``TCP_NODELAY`` itself.
"""

from __future__ import annotations

import importlib.metadata
import math
import socket
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, ClassVar, Final, Literal, NoReturn

import trio

from schedulers._groups import sole_exception
from schedulers.protocol import Clock, EchoServer

#: Readings taken to decide whether a clock moves on its own. A real clock with
#: nanosecond resolution moves between two; a coarse real clock mistaken for a virtual one
#: is still waited on correctly (through ``clock.wait``), so a small number is enough.
_PROBE_READINGS: Final = 100


def moves_by_itself(clock: Clock) -> bool:
    """True when time passes on ``clock`` without anyone waiting on it (a real clock)."""
    first = clock.now()
    return any(clock.now() != first for _ in range(_PROBE_READINGS))


class HarnessClock(trio.abc.Clock):
    """trio's view of the harness clock: one time line for the loop and the bodies."""

    __slots__ = ("_clock", "_virtual")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._virtual = not moves_by_itself(clock)

    def start_clock(self) -> None:
        pass

    def current_time(self) -> float:
        return self._clock.now()

    def deadline_to_sleep_time(self, deadline: float) -> float:
        # Called by the run loop only when no task is runnable, right before it blocks.
        remaining = deadline - self._clock.now()
        if not self._virtual or remaining <= 0 or not math.isfinite(remaining):
            return remaining
        self._clock.wait(remaining)  # a virtual clock jumps to the deadline...
        return 0.0  # ...so there is nothing left to sleep


async def _await(coro: Coroutine[Any, Any, None]) -> None:
    await coro


async def _echo_stream(stream: trio.SocketStream) -> None:
    async with stream:
        try:
            while data := await stream.receive_some(65536):
                await stream.send_all(data)
        except trio.BrokenResourceError:  # reset by the peer: this connection ends
            pass


def serve_echo(listener: socket.socket) -> NoReturn:
    """Echo on ``listener`` until the process is ended: ``trio.serve_listeners``."""

    async def main() -> None:
        listeners = [trio.SocketListener(trio.socket.from_stdlib_socket(listener))]
        await trio.serve_listeners(_echo_stream, listeners)

    trio.run(main)
    raise RuntimeError("trio.serve_listeners returned")


class TrioScheduler:
    name: ClassVar[str] = "trio"
    family: ClassVar[str] = "production"
    timer_note: ClassVar[str] = (
        "epoll timeouts rounded up to whole milliseconds: sub-millisecond sleeps wake about 1 ms late; never early"
    )
    version: ClassVar[str] = importlib.metadata.version("trio")
    dialect: ClassVar[Literal["async"]] = "async"
    supports_virtual_clock: ClassVar[bool] = True  # through HarnessClock

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # The library's own coroutine functions, not wrappers: no extra frame per sleep or wait.
    sleep = staticmethod(trio.sleep)
    readable = staticmethod(trio.lowlevel.wait_readable)
    writable = staticmethod(trio.lowlevel.wait_writable)

    echo_servers: ClassVar[Mapping[str, EchoServer]] = {"default": serve_echo}

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
        async def main() -> None:
            async with trio.open_nursery() as nursery:
                for coro in coroutines:
                    nursery.start_soon(_await, coro)

        try:
            trio.run(main, clock=HarnessClock(self.clock))
        except BaseExceptionGroup as group:
            # The nursery wraps a failing rocket's exception in a group; report the
            # exception itself, as asyncio's gather does, when it is the only one.
            raise sole_exception(group) from None
        return None


