"""``asyncio``: the standard library event loop, as a user of it would write the workload.

How it sleeps: ``asyncio.sleep``; the loop keeps timers in a heap of ``TimerHandle`` and
its selector (epoll on Linux) blocks until the next one. ``sleep(0)`` is special-cased to
a bare yield, one trip through the ready queue.

Cost model: every resume goes through a ``Task.__step`` callback scheduled on the ready
deque (``call_soon``); a timed sleep adds a Future, a ``TimerHandle`` and a heap push.
Each step is C-accelerated but does several times the work of a minimal loop.

Where it breaks down: the epoll selector takes its timeout in whole milliseconds,
rounding up, so sub-millisecond timers are served late by up to ~1 ms; and with 10,000
timers due in a short window the per-wake CPU cost makes the loop CPU-bound.

Readiness (``readable``/``writable``): ``loop.add_reader``/``add_writer`` with a Future
that the callback resolves; the callback also removes the reader, so each wait costs one
registration and one removal in the loop's selector (two ``epoll_ctl`` calls on the
selector loop) and the socket is never reported again for nobody. Shared with ``uvloop``
and ``rloop``, whose loops implement the same two methods natively.

Counters: asyncio does not count resumes and counting them would need a wrapper on every
step, so ``run`` returns ``None`` and the harness validates the trace alone.
"""

from __future__ import annotations

import asyncio
import platform
import socket
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, ClassVar, Literal

from schedulers.protocol import Clock

# Why add_reader and not the loop's socket methods: ``sock_recv``, ``sock_sendall`` and
# ``sock_accept`` *do* the I/O and hand back its result, while the contract awaits
# readiness alone and leaves the reading to the task; they would also consume the data
# the task is about to read. Internally they wait exactly this way (try the call, and on
# BlockingIOError ``add_reader`` with a Future), so this is the loop's own mechanism with
# nothing done for the task. ``add_reader`` is asyncio's public readiness API on every
# loop that implements it (the selector loop, uvloop, rloop; not the Windows proactor).


def _ready(remove: Callable[[int], bool], fd: int, future: asyncio.Future[None]) -> None:
    # Removed at once, not when the task resumes one loop iteration later: until then a
    # level-triggered selector would report the socket again on every poll, for nobody.
    remove(fd)
    if not future.done():  # the waiting task was cancelled meanwhile
        future.set_result(None)


async def wait_readable(sock: socket.socket) -> None:
    """Suspend the calling task until its loop's selector reports ``sock`` readable."""
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    future: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, _ready, loop.remove_reader, fd, future)
    try:
        await future
    finally:
        if future.cancelled():  # the callback never ran, so the reader is still there
            loop.remove_reader(fd)


async def wait_writable(sock: socket.socket) -> None:
    """Suspend the calling task until its loop's selector reports ``sock`` writable."""
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    future: asyncio.Future[None] = loop.create_future()
    loop.add_writer(fd, _ready, loop.remove_writer, fd, future)
    try:
        await future
    finally:
        if future.cancelled():
            loop.remove_writer(fd)


class AsyncioScheduler:
    name: ClassVar[str] = "asyncio"
    timer_note: ClassVar[str] = (
        "the selector's timeout is rounded up to whole milliseconds: a sleep under 1 ms wakes about 1 ms "
        "late; never early"
    )
    version: ClassVar[str] = platform.python_version()
    dialect: ClassVar[Literal["async"]] = "async"
    supports_virtual_clock: ClassVar[bool] = False  # the loop reads its own clock

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # The library's own coroutine function, not a wrapper: no extra frame per sleep.
    sleep = staticmethod(asyncio.sleep)
    # asyncio has no "wait until readable" coroutine of its own: the two above, one frame.
    readable = staticmethod(wait_readable)
    writable = staticmethod(wait_writable)

    # An explicit loop factory: the result must not depend on a globally installed
    # policy (uvloop's, for instance). Subclasses on the asyncio API swap only this.
    @staticmethod
    def new_event_loop() -> asyncio.AbstractEventLoop:
        return asyncio.SelectorEventLoop()

    def run(self, coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
        async def main() -> None:
            await asyncio.gather(*coroutines)

        with asyncio.Runner(loop_factory=self.new_event_loop) as runner:
            runner.run(main())
        return None
