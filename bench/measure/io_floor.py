"""The I/O floor: the io workload driven by the cheapest correct loop we can write.

Like the body floor (``bench.measure.body_floor``), it separates what every scheduler must
pay from what its design adds: the same io rocket bodies, the same socket pairs, the same
readiness wakes, driven by raw ``select.epoll``:

* each socket is registered once for the whole run (for reading; a wait for room to write
  switches it to writing and back), never renewed per wait;
* ``readable(sock)`` is a generator that yields the socket's descriptor once; the loop maps
  descriptor → generator and resumes it directly with ``send(None)`` when epoll says so;
* one ``epoll.poll`` per batch of readiness, level-triggered, no timers, no ready queue
  beyond the batch itself.

"Overhead per I/O wake" is a scheduler's cost per resume less this floor's, measured in
the same suite. A loop that reaches the floor by the same means is entitled to an overhead
near zero. Generator dialect only: it is the floor of the design, not of a dialect.

Not a registered scheduler: it is resolved by name (``io-floor``) by
``bench.measure.targets``, like the body floors, and is never ranked.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Generator, Iterable, Mapping
from typing import Any, ClassVar, Final

from bench.measure.registry import SchedulerEntry
from schedulers.protocol import Clock

IO_FLOOR_NAME: Final = "io-floor"
_IN: Final = select.EPOLLIN
_OUT: Final = select.EPOLLOUT


def _wait_readable(sock: socket.socket) -> Generator[int, None, None]:
    yield sock.fileno()


def _wait_writable(sock: socket.socket) -> Generator[int, None, None]:
    yield -1 - sock.fileno()  # negative: a wait for room to write


class IoFloor:
    """The floor driver (generator dialect)."""

    name: ClassVar[str] = IO_FLOOR_NAME
    dialect: ClassVar[str] = "generator"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def sleep(self, seconds: float) -> Any:  # the io workload has no timers
        raise RuntimeError("the I/O floor drives the io workload only")

    readable = staticmethod(_wait_readable)
    writable = staticmethod(_wait_writable)

    def run(self, coroutines: Iterable[Generator[int, None, None]]) -> Mapping[str, int]:
        epoll = select.epoll()
        waiting: dict[int, Generator[int, None, None]] = {}
        registered: dict[int, int] = {}  # fd → the mask it is registered with
        resumes = 0
        ready = list(coroutines)
        try:
            while True:
                for task in ready:
                    resumes += 1
                    try:
                        fd = task.send(None)
                    except StopIteration:
                        continue
                    mask = _IN
                    if fd < 0:
                        fd, mask = -1 - fd, _OUT
                    waiting[fd] = task
                    known = registered.get(fd)
                    if known is None:
                        epoll.register(fd, mask)
                        registered[fd] = mask
                    elif known != mask:
                        epoll.modify(fd, mask)
                        registered[fd] = mask
                if not waiting:
                    return {"resumes": resumes}
                ready = []
                for fd, _ in epoll.poll():
                    woken = waiting.pop(fd, None)
                    if woken is not None:
                        ready.append(woken)
                    else:
                        # Ready but nobody waits (its rocket closed the socket and the number
                        # was reused, or the peer hung up): stop hearing about it.
                        epoll.unregister(fd)
                        registered.pop(fd, None)
        finally:
            epoll.close()


def io_floor_entry() -> SchedulerEntry:
    return SchedulerEntry(IO_FLOOR_NAME, "built-in", f"{__name__}:IoFloor", cls=IoFloor)
